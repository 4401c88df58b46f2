// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "payment/pm/ticket.h"

namespace lp::pm {

/// Price in wei per pixelsPerUnit pixels (net.PriceInfo).
struct PriceInfo {
  std::int64_t price_per_unit = 0;
  std::int64_t pixels_per_unit = 1;

  /// Fails on a negative price or a non-positive pixelsPerUnit.
  Result<Rational> per_pixel() const;
  bool operator==(const PriceInfo&) const = default;
};

/// What a recipient hands a sender: the parameters every ticket of a batch shares.
struct TicketParams {
  Address recipient{};
  U256 face_value = 0;
  U256 win_prob = 0;
  Hash recipient_rand_hash{};
  U256 seed = 0;
  U256 expiration_block = 0;  ///< block after which the recipient refuses these params
  ExpirationParams expiration;

  Rational expected_value() const { return pm::expected_value(face_value, win_prob); }
};

/// One ticket's own part of a batch: its nonce and the sender's signature (any length on input).
struct TicketSenderParams {
  std::uint32_t sender_nonce = 0;
  Bytes sig;
};

/// A batch of tickets sharing one set of params: the content of a net.Payment.
struct TicketBatch {
  TicketParams params;
  Address sender{};
  std::vector<TicketSenderParams> tickets;
  PriceInfo expected_price;

  /// The full ticket at index i of the batch.
  Ticket ticket(std::size_t i) const;
};

}  // namespace lp::pm
