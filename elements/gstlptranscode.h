/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define LP_TYPE_TRANSCODE (lp_transcode_get_type())
G_DECLARE_FINAL_TYPE(LpTranscode, lp_transcode, LP, TRANSCODE, GstBin)

#define LP_TYPE_TRANSCODE_GPU (lp_transcode_gpu_get_type())
GType lp_transcode_gpu_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(lptranscode);

G_END_DECLS
