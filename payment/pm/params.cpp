// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/pm/params.h"

namespace lp::pm {

Result<Rational> PriceInfo::per_pixel() const {
  if (price_per_unit < 0 || pixels_per_unit <= 0)
    return make_error(ErrorKind::invalid_input, "bad_price",
                      "price must be >= 0 wei per pixelsPerUnit > 0 pixels, got " +
                          std::to_string(price_per_unit) + "/" + std::to_string(pixels_per_unit));
  return Rational(price_per_unit, pixels_per_unit);
}

Ticket TicketBatch::ticket(std::size_t i) const {
  Ticket t;
  t.recipient = params.recipient;
  t.sender = sender;
  t.face_value = params.face_value;
  t.win_prob = params.win_prob;
  t.sender_nonce = tickets.at(i).sender_nonce;
  t.recipient_rand_hash = params.recipient_rand_hash;
  t.expiration = params.expiration;
  return t;
}

}  // namespace lp::pm
