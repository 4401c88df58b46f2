/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define LP_TYPE_HLS_SINK (lp_hls_sink_get_type())
G_DECLARE_FINAL_TYPE(LpHlsSink, lp_hls_sink, LP, HLS_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE(lphlssink);

G_END_DECLS
