/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

#define LP_TYPE_SEGMENTER (lp_segmenter_get_type())
G_DECLARE_FINAL_TYPE(LpSegmenter, lp_segmenter, LP, SEGMENTER, GstAggregator)

GST_ELEMENT_REGISTER_DECLARE(lpsegmenter);

G_END_DECLS
