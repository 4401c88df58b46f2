/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define LP_TYPE_VERIFY (lp_verify_get_type())
G_DECLARE_FINAL_TYPE(LpVerify, lp_verify, LP, VERIFY, GstElement)

GST_ELEMENT_REGISTER_DECLARE(lpverify);

G_END_DECLS
