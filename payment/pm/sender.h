// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "payment/ledger/ledger.h"
#include "payment/pm/params.h"

namespace lp::pm {

/// The gateway's limits on what an orchestrator may ask (go-livepeer flags of the same names).
struct SenderConfig {
  U256 max_ticket_ev = 3'000'000'000'000;  ///< -maxTicketEV, wei
  U256 max_total_ev = 20'000'000'000'000;  ///< -maxTotalEV: EV of one batch, wei
  U256 deposit_multiplier = 1;             ///< faceValue <= deposit / depositMultiplier
  U256 expiry_buffer_blocks = 1;           ///< params must outlive the current block by more
};

/// The gateway's side of probabilistic micropayments (go-livepeer pm.Sender): one session per
/// set of ticket params, keyed by recipientRandHash, nonces from 1. Thread-safe.
class Sender {
 public:
  Sender(const PrivateKey& key, ledger::ChainReader& chain, SenderConfig config = {});

  const Address& address() const { return key_.address(); }

  /// Starts a session for an orchestrator's params; returns its id (hex recipientRandHash).
  std::string start_session(const TicketParams& params, const PriceInfo& price);
  void end_session(const std::string& session_id);

  /// Signs `count` tickets with the next nonces after checking the params are acceptable.
  Result<TicketBatch> create_ticket_batch(const std::string& session_id, std::size_t count);

  /// go-livepeer's acceptance checks of an orchestrator's params for a batch of num_tickets,
  /// plus ours: at most kMaxTicketsPerPayment tickets (too_many_tickets, forbidden: the
  /// orchestrator's EV is too small for its price).
  Status validate_ticket_params(const TicketParams& params, std::size_t num_tickets);

  /// The most tickets one payment may carry: go-livepeer's orchestrator remembers 600 nonces per
  /// ticket params (maxSenderNonces) and refuses the rest, so a bigger batch could never be
  /// credited; it is also what keeps a tiny ticket EV from making the gateway sign millions.
  static constexpr std::size_t kMaxTicketsPerPayment = 600;

  /// Tickets needed so that existing credit plus their EV covers min_credit:
  /// ceil((min_credit - existing) / ev), zero when the credit already covers it; saturates at
  /// SIZE_MAX (a count that large is refused as too_many_tickets anyway).
  static std::size_t tickets_for_fee(const Rational& min_credit, const Rational& existing,
                                     const Rational& ticket_ev);

 private:
  struct Session {
    TicketParams params;
    PriceInfo price;
    std::uint32_t last_nonce = 0;
  };

  PrivateKey key_;
  ledger::ChainReader& chain_;
  SenderConfig config_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;  // guarded by mu_
};

}  // namespace lp::pm
