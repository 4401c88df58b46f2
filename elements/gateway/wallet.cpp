// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/gateway/wallet.h"

#include <cmath>

namespace lp::gw {

Wallet::Wallet(const PrivateKey& key, std::shared_ptr<ledger::ChainReader> chain,
               WalletConfig config)
    : key_(key),
      config_(std::move(config)),
      chain_(std::move(chain)),
      sender_(key, *chain_, config_.sender) {}

Result<PaymentGrant> Wallet::pay(const Address& orchestrator, const std::string& session,
                                 const pm::TicketParams& params, const pm::PriceInfo& price,
                                 const Rational& fee) {
  auto per_pixel = price.per_pixel();
  if (!per_pixel) return per_pixel.error();
  if (config_.max_price_per_pixel > 0 && *per_pixel > config_.max_price_per_pixel)
    return make_error(ErrorKind::forbidden, "price_too_high",
                      "orchestrator " + to_checksum(orchestrator) + " asks " +
                          to_string(*per_pixel) + " wei per pixel, above the maximum " +
                          to_string(config_.max_price_per_pixel));
  const Rational ev = params.expected_value();
  if (ev <= 0)
    return make_error(ErrorKind::forbidden, "zero_ev", "ticket params with zero expected value");
  const Rational min_credit = std::max(fee, ev);
  const Rational existing = balances_.reserve(orchestrator, session);
  const std::size_t n = pm::Sender::tickets_for_fee(min_credit, existing, ev);
  PaymentGrant grant;
  if (n > 0) {
    const std::string pm_session = sender_.start_session(params, price);
    auto batch = sender_.create_ticket_batch(pm_session, n);
    if (!batch) {
      balances_.credit(orchestrator, session, existing);
      return batch.error();
    }
    grant.batch = std::move(*batch);
  } else {
    grant.batch.params = params;
    grant.batch.sender = key_.address();
    grant.batch.expected_price = price;
  }
  grant.new_credit = ev * Rational(static_cast<std::uint64_t>(n));
  std::lock_guard lock(mu_);
  grant.id = next_id_++;
  pending_[grant.id] = Pending{orchestrator, session, existing, grant.new_credit, n};
  return grant;
}

void Wallet::settle(std::uint64_t grant_id, SettleOutcome outcome, const Rational& debit) {
  Pending p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(grant_id);
    if (it == pending_.end()) return;
    p = std::move(it->second);
    pending_.erase(it);
    for (PaymentTotals* t :
         {static_cast<PaymentTotals*>(&totals_), &totals_.by_orchestrator[p.orchestrator]}) {
      if (outcome != SettleOutcome::not_sent) {
        ++t->payments;
        t->tickets_sent += p.tickets;
        t->ev_sent += p.new_credit;
      }
      if (outcome == SettleOutcome::result) t->debited += debit;
    }
  }
  switch (outcome) {
    case SettleOutcome::not_sent:
      balances_.credit(p.orchestrator, p.session, p.existing);
      break;
    case SettleOutcome::sent_no_result:
      break;
    case SettleOutcome::result:
      balances_.credit(p.orchestrator, p.session, p.existing + p.new_credit - debit);
      break;
  }
}

WalletTotals Wallet::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

Rational estimate_fee(const std::vector<ProfileBox>& profiles, double duration_seconds,
                      const Rational& price_per_pixel) {
  const auto seconds = static_cast<std::uint64_t>(std::ceil(std::max(duration_seconds, 0.0)));
  BigInt pixels = 0;
  for (const auto& p : profiles) {
    const std::uint64_t fps =
        p.fps <= 0 ? 60
                   : static_cast<std::uint64_t>((p.fps + std::max(p.fps_den, 1) - 1) /
                                                std::max(p.fps_den, 1));
    pixels += BigInt(static_cast<std::uint64_t>(p.width) * static_cast<std::uint64_t>(p.height)) *
              fps * seconds;
  }
  return Rational(pixels) * Rational(102, 100) * price_per_pixel;
}

}  // namespace lp::gw
