// SPDX-License-Identifier: LGPL-2.1-or-later
// How the gateway elements talk to each other (docs/gateway.md): data moves downstream as one
// buffer list per source segment (the source buffer first, then one buffer per rendition, each
// with its metas); control moves as custom queries and events, never side channels.
//
//   lp-sign (query, upstream)            lpremote-transcode -> lpticketpay
//       in "message" (GBytes)            out "signature" (GBytes, 65), "address" (0x hex)
//   lp-payment (query, upstream)         lpremote-transcode -> lpticketpay
//       in "orchestrator" (0x hex), "session" (auth token session id),
//          "ticket-params" (GBytes: net.TicketParams), "price" (GBytes: net.PriceInfo),
//          "fee" (wei, "n" or "n/d")
//       out "payment" (GBytes: net.Payment), "grant" (guint64), "tickets" (guint)
//           or, when the wallet refuses, an error: "error" (message), "error-code" (the stable
//           code, e.g. "ticket_params_expired"), "error-kind" (lp::error_kind_name)
//   lp-payment-settle (query, upstream)  in "grant", "outcome" (0 not sent, 1 no result, 2 result),
//                                           "debit" (wei)
//   lp-verify-failed (event, upstream)   lpverify -> lpremote-transcode, inside its push:
//       "seq" (guint64), "orchestrator" (0x hex), "reason" (string), "reason-code" (the
//       verifier's stable code: bad_signature, pixel_count, resolution, frame_count, pictures...)
//   lp-segment-skipped (event, downstream, serialized): "seq" (guint64), "reason", "error-code"
//       (go-livepeer's metric code): no verified result could be had for this segment.
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>

#include "elements/gateway/wallet.h"
#include "elements/net/lp_rpc.pb.h"

namespace lp::gw {

inline constexpr const char* kSignQuery = "lp-sign";
inline constexpr const char* kPaymentQuery = "lp-payment";
inline constexpr const char* kSettleQuery = "lp-payment-settle";
inline constexpr const char* kVerifyFailedEvent = "lp-verify-failed";
inline constexpr const char* kSegmentSkippedEvent = "lp-segment-skipped";

/// True when the query is a custom one with this structure name.
bool is_custom_query(GstQuery* q, const char* name);
bool is_custom_event(GstEvent* e, const char* name);

std::string to_string_bytes(GBytes* b);
GBytes* bytes_from(const std::string& s);

/// An lp::Error as it travels in a structure ("error", "error-code", "error-kind"), and back:
/// decisions read the code and the kind, never the message.
void set_error(GstStructure* s, const Error& e);
std::optional<Error> get_error(const GstStructure* s);

/// A Rational as it travels in a structure field ("n" or "n/d"), and back.
std::optional<Rational> parse_rational(const char* text);

}  // namespace lp::gw
