// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "payment/ledger/ledger.h"
#include "payment/pm/balances.h"
#include "payment/pm/params.h"
#include "payment/pm/winner.h"

namespace lp::pm {

struct RecipientConfig {
  U256 ticket_ev = 8'000'000'000;       ///< go-livepeer -ticketEV default, wei
  U256 max_face_value = 0;              ///< 0: no cap beyond the sender's max float
  U256 redeem_gas = 1'200'000;          ///< gas of a redemption on Arbitrum
  U256 params_expiration_blocks = 40;   ///< params live this many blocks
  U256 ticket_validity_rounds = 2;      ///< TicketBroker ticketValidityPeriod
  std::size_t max_sender_nonces = 600;  ///< nonces remembered per recipientRand
};

/// The outcome of one ticket that passed validation.
struct ReceivedTicket {
  Rational ev;
  bool won = false;
};

/// What a batch earned. Valid tickets are credited even when a later one fails.
struct PaymentOutcome {
  Rational credited = 0;
  std::size_t accepted = 0;
  std::size_t winners = 0;
  std::optional<Error> error;  ///< the first error, when any ticket failed
};

/// The orchestrator's side of probabilistic micropayments (go-livepeer pm.Recipient):
/// makes ticket params, validates tickets, credits their EV and queues winners.
class Recipient {
 public:
  /// secret: the HMAC key for recipientRand; random when not given (go-livepeer default).
  Recipient(const Address& self, ledger::ChainReader& chain, WinnerSink& winners,
            RecipientConfig config, std::optional<Hash> secret = std::nullopt);

  const Address& address() const { return self_; }
  const RecipientConfig& config() const { return config_; }

  /// Ticket params for a sender at a price: faceValue and winProb from the configured EV.
  Result<TicketParams> ticket_params(const Address& sender, const PriceInfo& price);

  /// Validates one ticket (sender, recipient, signature, creation round, recipientRandHash,
  /// nonce, params expiry, in that order) and queues it if it wins. Does not credit.
  Result<ReceivedTicket> receive_ticket(const Ticket& ticket, ByteSpan sig, const U256& seed,
                                        const U256& params_expiration_block,
                                        const PriceInfo& price);

  /// Receives every ticket of a batch and credits the EV of each valid one to
  /// balances()[sender][session]. A fatal error stops the batch.
  PaymentOutcome receive_payment(const TicketBatch& batch, const std::string& session);

  Balances& balances() { return balances_; }

  /// Forgets nonce sets whose params expired by the given block.
  void prune_expired(const U256& block);

 private:
  Result<U256> face_value(const Address& sender);
  Result<U256> max_float(const Address& sender);
  U256 recipient_rand(const U256& seed, const Address& sender, const U256& face_value,
                      const U256& win_prob, const U256& expiration_block, const Rational& price,
                      const ExpirationParams& exp) const;
  /// What every ticket of a batch is checked against, read from the chain once per batch.
  struct ChainSnapshot {
    ledger::SenderInfo sender;
    ledger::RoundInfo last_round;
    Hash creation_round_hash{};  // of the batch's creation round
    U256 block = 0;
  };
  Result<ChainSnapshot> snapshot(const Address& sender, const ExpirationParams& exp);
  Result<ReceivedTicket> receive_one(const ChainSnapshot& chain, const Ticket& ticket, ByteSpan sig,
                                     const U256& seed, const U256& params_expiration_block,
                                     const Rational& price);
  Status record_nonce(const U256& rand, const Address& sender, std::uint32_t nonce,
                      const U256& expiration_block);

  Address self_;
  ledger::ChainReader& chain_;
  WinnerSink& winners_;
  RecipientConfig config_;
  Hash secret_{};
  Balances balances_;

  struct NonceSet {
    std::set<std::uint32_t> seen;
    U256 expiration_block = 0;
  };
  std::mutex nonce_mu_;
  std::map<U256, NonceSet> nonces_;  // guarded by nonce_mu_, keyed by recipientRand
};

/// winProb for a face value so that faceValue * winProb / (2^256-1) >= ev (go-livepeer rules).
U256 win_prob_for(const U256& face_value, const U256& ev);

}  // namespace lp::pm
