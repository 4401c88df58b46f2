/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define LP_TYPE_REMOTE_TRANSCODE (lp_remote_transcode_get_type())
G_DECLARE_FINAL_TYPE(LpRemoteTranscode, lp_remote_transcode, LP, REMOTE_TRANSCODE, GstElement)

GST_ELEMENT_REGISTER_DECLARE(lpremote_transcode);

G_END_DECLS
