// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/pm/sender.h"

#include <limits>

namespace lp::pm {

namespace {
Error refuse(const char* code, std::string msg) {
  return make_error(ErrorKind::retryable, code, std::move(msg));
}
}  // namespace

Sender::Sender(const PrivateKey& key, ledger::ChainReader& chain, SenderConfig config)
    : key_(key), chain_(chain), config_(std::move(config)) {}

std::string Sender::start_session(const TicketParams& params, const PriceInfo& price) {
  std::string id = to_hex(params.recipient_rand_hash, false);
  std::lock_guard lock(mu_);
  sessions_.try_emplace(id, Session{params, price, 0});
  return id;
}

void Sender::end_session(const std::string& session_id) {
  std::lock_guard lock(mu_);
  sessions_.erase(session_id);
}

Status Sender::validate_ticket_params(const TicketParams& params, std::size_t num_tickets) {
  auto block = chain_.block_number();
  if (!block) return block.error();
  if (params.expiration_block == 0 || params.expiration_block <= *block ||
      params.expiration_block - *block <= config_.expiry_buffer_blocks)
    return refuse("ticket_params_expired", "TicketParams expired: expiration block " +
                                               to_dec(params.expiration_block) +
                                               ", current block " + to_dec(*block));
  const Rational ev = params.expected_value();
  if (ev > Rational(BigInt(config_.max_ticket_ev)))
    return refuse("ticket_ev_too_high", "ticket EV " + to_string(ev) +
                                            " higher than max ticket EV " +
                                            to_dec(config_.max_ticket_ev));
  if (num_tickets > kMaxTicketsPerPayment)
    return make_error(ErrorKind::forbidden, "too_many_tickets",
                      std::to_string(num_tickets) + " tickets of EV " + to_string(ev) +
                          " wei for one payment, more than " +
                          std::to_string(kMaxTicketsPerPayment) +
                          " (the orchestrator's ticket EV is too small for its price)");
  if (ev * Rational(BigInt(num_tickets)) > Rational(BigInt(config_.max_total_ev)))
    return refuse("total_ev_too_high",
                  "total ticket EV higher than max total EV " + to_dec(config_.max_total_ev));

  auto info = chain_.sender_info(key_.address());
  if (!info) return info.error();
  auto round = chain_.last_initialized_round();
  if (!round) return round.error();
  if (info->unlock_in_progress() && info->withdraw_round <= round->round + 1)
    return make_error(ErrorKind::fatal, "sender_unlocking",
                      "sender deposit and reserve are unlocking");
  if (info->reserve == 0)
    return make_error(ErrorKind::fatal, "no_reserve", "sender reserve is zero");
  if (info->deposit == 0)
    return make_error(ErrorKind::fatal, "no_deposit", "sender deposit is zero");
  if (config_.deposit_multiplier == 0 ||
      params.face_value > info->deposit / config_.deposit_multiplier)
    return refuse("face_value_too_high",
                  "ticket faceValue " + to_dec(params.face_value) + " higher than max faceValue " +
                      to_dec(config_.deposit_multiplier ? info->deposit / config_.deposit_multiplier
                                                        : U256(0)));
  return ok_status();
}

Result<TicketBatch> Sender::create_ticket_batch(const std::string& session_id, std::size_t count) {
  TicketParams params;
  PriceInfo price;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
      return make_error(ErrorKind::fatal, "unknown_session", "no PM session " + session_id);
    params = it->second.params;
    price = it->second.price;
  }
  if (auto st = validate_ticket_params(params, count); !st) return st.error();

  std::uint32_t first = 0;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
      return make_error(ErrorKind::fatal, "unknown_session", "no PM session " + session_id);
    if (count > std::numeric_limits<std::uint32_t>::max() - it->second.last_nonce)
      return make_error(ErrorKind::fatal, "nonce_exhausted", "session nonces exhausted");
    first = it->second.last_nonce + 1;
    it->second.last_nonce += static_cast<std::uint32_t>(count);
  }

  TicketBatch batch;
  batch.params = params;
  batch.sender = key_.address();
  batch.expected_price = price;
  batch.tickets.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    batch.tickets.push_back({first + static_cast<std::uint32_t>(i), {}});
    Signature sig = sign_ticket(key_, batch.ticket(i));
    batch.tickets.back().sig.assign(sig.begin(), sig.end());
  }
  return batch;
}

std::size_t Sender::tickets_for_fee(const Rational& min_credit, const Rational& existing,
                                    const Rational& ticket_ev) {
  if (existing >= min_credit || ticket_ev <= 0) return 0;
  const BigInt n = ceil_div((min_credit - existing) / ticket_ev);
  if (n > BigInt(std::numeric_limits<std::size_t>::max()))
    return std::numeric_limits<std::size_t>::max();
  return static_cast<std::size_t>(n);
}

}  // namespace lp::pm
