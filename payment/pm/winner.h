// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include "payment/common/result.h"
#include "payment/pm/ticket.h"

namespace lp::pm {

/// A winning ticket with what redeeming it needs.
struct WinningTicket {
  Ticket ticket;
  Bytes sig;
  U256 recipient_rand = 0;
  /// Redeem only once the chain is past this block (go-livepeer waits for params expiry).
  U256 params_expiration_block = 0;
};

/// Where a recipient puts its winners (the persistent queue in a node, a vector in a test).
class WinnerSink {
 public:
  virtual ~WinnerSink() = default;
  /// Stores the winner durably; adding the same ticket twice stores it once.
  virtual Status add_winner(const WinningTicket& winner) = 0;
  /// Face value of sender's winners not yet redeemed (go-livepeer's pendingAmount).
  virtual Result<U256> pending_face_value(const Address& sender) = 0;
};

}  // namespace lp::pm
