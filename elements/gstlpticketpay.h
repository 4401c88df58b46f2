/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define LP_TYPE_TICKET_PAY (lp_ticket_pay_get_type())
G_DECLARE_FINAL_TYPE(LpTicketPay, lp_ticket_pay, LP, TICKET_PAY, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(lpticketpay);

G_END_DECLS
