// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's wallet: the sender key, the PM sender state and the credit per orchestrator
// session (go-livepeer core/accounting.go and server/segment_rpc.go's balance updates), with the
// spending limits. No GStreamer: lpticketpay is a shell around it, and tests use it directly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "payment/ledger/ledger.h"
#include "payment/pm/balances.h"
#include "payment/pm/sender.h"

namespace lp::gw {

struct WalletConfig {
  pm::SenderConfig sender;  ///< max ticket EV, max total EV per batch, deposit multiplier
  Rational max_price_per_pixel =
      0;  ///< wei per pixel an orchestrator may ask; 0: any (-maxPricePerUnit 0)
};

/// What one segment's payment holds until its outcome is known.
struct PaymentGrant {
  std::uint64_t id = 0;
  pm::TicketBatch batch;    ///< possibly without tickets, when existing credit covers the fee
  Rational new_credit = 0;  ///< EV of the batch's tickets
};

enum class SettleOutcome {
  not_sent,        ///< the request never left: the reserved credit comes back
  sent_no_result,  ///< sent, but no answer: the credit is spent
  result,          ///< a TranscodeResult: credit + new credit - debit stays as the balance
};

/// Totals since start, for messages, /status and the tests' books.
struct PaymentTotals {
  std::uint64_t payments = 0;  ///< segments paid for (batches sent)
  std::uint64_t tickets_sent = 0;
  Rational ev_sent = 0;  ///< EV of the tickets that were sent
  Rational debited = 0;  ///< fees charged by orchestrators' results
};
struct WalletTotals : PaymentTotals {
  std::map<Address, PaymentTotals> by_orchestrator;
};

class Wallet {
 public:
  /// `chain`: the process's shared settlement (ledger/settlement.h), kept alive as long as the
  /// wallet, which reads the sender's funds and the rounds from it.
  Wallet(const PrivateKey& key, std::shared_ptr<ledger::ChainReader> chain,
         WalletConfig config = {});

  const Address& address() const { return key_.address(); }
  Signature sign(ByteSpan message) const { return sign_message(key_, message); }

  /// A payment for one segment to an orchestrator session: its existing credit is reserved and
  /// tickets are added until credit covers max(fee, ticket EV) (go-livepeer newBalanceUpdate).
  /// Refused when the price is above the maximum or the params break the sender's limits.
  Result<PaymentGrant> pay(const Address& orchestrator, const std::string& session,
                           const pm::TicketParams& params, const pm::PriceInfo& price,
                           const Rational& fee);
  /// The outcome of the request a grant paid for (go-livepeer completeBalanceUpdate).
  void settle(std::uint64_t grant_id, SettleOutcome outcome, const Rational& debit = 0);

  /// Credit with an orchestrator session (what it owes us in work, in wei).
  Rational balance(const Address& orchestrator, const std::string& session) const {
    return balances_.balance(orchestrator, session);
  }
  /// The sum of all sessions' credit.
  Rational total_balance() const { return balances_.total(); }
  /// Each orchestrator's credit over its sessions.
  std::map<Address, Rational> balance_by_orchestrator() const { return balances_.by_address(); }
  WalletTotals totals() const;
  const WalletConfig& config() const { return config_; }

 private:
  struct Pending {
    Address orchestrator{};
    std::string session;
    Rational existing;
    Rational new_credit;
    std::size_t tickets = 0;
  };
  PrivateKey key_;
  WalletConfig config_;
  std::shared_ptr<ledger::ChainReader> chain_;  // before sender_, which reads through it
  pm::Sender sender_;
  pm::Balances balances_;
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;                 // guarded by mu_
  std::map<std::uint64_t, Pending> pending_;  // guarded by mu_
  WalletTotals totals_;                       // guarded by mu_
};

/// go-livepeer's fee estimate for a segment (server/segment_rpc.go estimateFee): per profile
/// w x h x ceil(fps) x ceil(duration in s), passthrough frame rate counted as 60, times 1.02,
/// times the price per pixel.
struct ProfileBox {
  int width = 0;
  int height = 0;
  int fps = 0;  ///< 0: the source's (passthrough)
  int fps_den = 1;
};
Rational estimate_fee(const std::vector<ProfileBox>& profiles, double duration_seconds,
                      const Rational& price_per_pixel);

}  // namespace lp::gw
