// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/pm/recipient.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace lp::pm {

namespace {

// go-livepeer pm/recipient.go: faceValue = txCost * txCostMultiplier, or EV * evMultiplier when
// that is below the EV; a face value below redeemGas * 3 gwei (and below txCost) is refused.
constexpr unsigned kTxCostMultiplier = 100;
constexpr unsigned kEvMultiplier = 100;
const U256 kAvgGasPrice = 3'000'000'000;

Error fatal(const char* code, std::string msg) {
  return make_error(ErrorKind::fatal, code, std::move(msg));
}
Error forbidden(const char* code, std::string msg) {
  return make_error(ErrorKind::forbidden, code, std::move(msg));
}

void append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

}  // namespace

U256 win_prob_for(const U256& face_value, const U256& ev) {
  if (face_value == 0) return 0;
  if (face_value == ev) return max_win_prob();
  U256 q = max_win_prob() / face_value;
  U256 r = max_win_prob() % face_value;
  return BigInt(ev) * BigInt(r != 0 ? q + 1 : q) > BigInt(max_win_prob())
             ? max_win_prob()
             : ev * (r != 0 ? q + 1 : q);
}

Recipient::Recipient(const Address& self, ledger::ChainReader& chain, WinnerSink& winners,
                     RecipientConfig config, std::optional<Hash> secret)
    : self_(self), chain_(chain), winners_(winners), config_(std::move(config)) {
  if (secret) {
    secret_ = *secret;
  } else if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}

Result<U256> Recipient::max_float(const Address& sender) {
  auto info = chain_.sender_info(sender);
  if (!info) return info.error();
  auto pool = chain_.transcoder_pool_size();
  if (!pool) return pool.error();
  auto claimed = chain_.claimed_reserve(sender, self_);
  if (!claimed) return claimed.error();
  auto pending = winners_.pending_face_value(sender);
  if (!pending) return pending.error();

  U256 alloc = 0;
  if (*pool > 0) {
    U256 share = (info->reserve + info->reserve_claimed_in_current_round) / *pool;
    alloc = share > *claimed ? share - *claimed : 0;
  }
  // go-livepeer sendermonitor: the deposit backs pending redemptions only while it is at least
  // three times their face value; otherwise they are taken out of the reserve allocation.
  if (*pending == 0 || info->deposit / *pending >= 3) return alloc;
  return alloc > *pending ? alloc - *pending : U256(0);
}

Result<U256> Recipient::face_value(const Address& sender) {
  auto gas_price = chain_.gas_price();
  if (!gas_price) return gas_price.error();
  const U256 tx_cost = config_.redeem_gas * *gas_price;
  U256 fv = tx_cost * kTxCostMultiplier;
  if (fv < config_.ticket_ev) fv = config_.ticket_ev * kEvMultiplier;
  auto mf = max_float(sender);
  if (!mf) return mf.error();
  if (fv > *mf) fv = *mf;
  if (config_.max_face_value > 0 && fv > config_.max_face_value) fv = config_.max_face_value;
  if (fv < config_.ticket_ev || (fv < tx_cost && fv < config_.redeem_gas * kAvgGasPrice))
    return make_error(ErrorKind::payment_required, "insufficient_sender_reserve",
                      "insufficient sender reserve: max float " + to_dec(*mf) + " wei of " +
                          to_checksum(sender) + " cannot back a ticket of EV " +
                          to_dec(config_.ticket_ev));
  return fv;
}

U256 Recipient::recipient_rand(const U256& seed, const Address& sender, const U256& face_value,
                               const U256& win_prob, const U256& expiration_block,
                               const Rational& price, const ExpirationParams& exp) const {
  // Minimal big-endian encodings, as go-livepeer feeds big.Int.Bytes() to the HMAC.
  Bytes msg;
  msg.reserve(std::size_t{32} * 8);
  append(msg, to_min_be(BigInt(seed)));
  append(msg, sender);
  append(msg, to_min_be(BigInt(face_value)));
  append(msg, to_min_be(BigInt(win_prob)));
  append(msg, to_min_be(BigInt(expiration_block)));
  append(msg, to_min_be(boost::multiprecision::numerator(price)));
  append(msg, to_min_be(boost::multiprecision::denominator(price)));
  if (!exp.aux_empty()) {
    append(msg, to_be32(exp.creation_round));
    append(msg, exp.creation_round_block_hash);
  }
  Hash mac{};
  unsigned int len = mac.size();
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), msg.data(), msg.size(),
       mac.data(), &len);
  return *u256_from_be(mac);
}

Result<TicketParams> Recipient::ticket_params(const Address& sender, const PriceInfo& price) {
  auto per_pixel = price.per_pixel();
  if (!per_pixel) return per_pixel.error();
  auto block = chain_.block_number();
  if (!block) return block.error();
  auto round = chain_.last_initialized_round();
  if (!round) return round.error();

  TicketParams p;
  p.recipient = self_;
  if (*per_pixel != 0) {
    auto fv = face_value(sender);
    if (!fv) return fv.error();
    p.face_value = *fv;
    p.win_prob = win_prob_for(p.face_value, config_.ticket_ev);
  }
  p.expiration_block = *block + config_.params_expiration_blocks;
  p.expiration.creation_round = round->round;
  p.expiration.creation_round_block_hash = round->block_hash;
  Hash seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  p.seed = *u256_from_be(seed);
  p.recipient_rand_hash = pm::recipient_rand_hash(recipient_rand(
      p.seed, sender, p.face_value, p.win_prob, p.expiration_block, *per_pixel, p.expiration));
  return p;
}

Result<Recipient::ChainSnapshot> Recipient::snapshot(const Address& sender,
                                                     const ExpirationParams& exp) {
  ChainSnapshot snap;
  auto info = chain_.sender_info(sender);
  if (!info) return info.error();
  snap.sender = *info;
  auto last = chain_.last_initialized_round();
  if (!last) return last.error();
  snap.last_round = *last;
  if (exp.creation_round <= last->round) {
    auto hash = chain_.block_hash_for_round(exp.creation_round);
    if (!hash) return hash.error();
    snap.creation_round_hash = *hash;
  }
  auto block = chain_.block_number();
  if (!block) return block.error();
  snap.block = *block;
  return snap;
}

Status Recipient::record_nonce(const U256& rand, const Address& sender, std::uint32_t nonce,
                               const U256& expiration_block) {
  std::lock_guard lock(nonce_mu_);
  NonceSet& set = nonces_[rand];
  set.expiration_block = expiration_block;
  // go-livepeer's texts (pm/recipient.go updateSenderNonce), the sender in EIP-55 form.
  const std::string who = " sender=" + to_checksum(sender) + " nonce=" + std::to_string(nonce);
  if (set.seen.count(nonce))
    return forbidden("nonce_replayed", "invalid ticket senderNonce: already seen" + who);
  if (set.seen.size() >= config_.max_sender_nonces)
    return forbidden("nonce_too_many", "invalid ticket senderNonce: too many values" + who);
  set.seen.insert(nonce);
  return ok_status();
}

void Recipient::prune_expired(const U256& block) {
  std::lock_guard lock(nonce_mu_);
  std::erase_if(nonces_, [&](const auto& kv) { return kv.second.expiration_block <= block; });
}

Result<ReceivedTicket> Recipient::receive_ticket(const Ticket& ticket, ByteSpan sig,
                                                 const U256& seed,
                                                 const U256& params_expiration_block,
                                                 const PriceInfo& price) {
  auto per_pixel = price.per_pixel();
  if (!per_pixel) return per_pixel.error();
  auto snap = snapshot(ticket.sender, ticket.expiration);
  if (!snap) return snap.error();
  return receive_one(*snap, ticket, sig, seed, params_expiration_block, *per_pixel);
}

Result<ReceivedTicket> Recipient::receive_one(const ChainSnapshot& chain, const Ticket& ticket,
                                              ByteSpan sig, const U256& seed,
                                              const U256& params_expiration_block,
                                              const Rational& price) {
  // 1. sender
  if (is_zero(ticket.sender)) return fatal("invalid_sender", "invalid ticket sender");
  const ledger::SenderInfo& info = chain.sender;
  if (info.deposit == 0 && info.reserve == 0)
    return fatal("sender_unfunded",
                 "sender " + to_checksum(ticket.sender) + " has no deposit or reserve");
  if (info.unlock_in_progress() && info.withdraw_round <= chain.last_round.round + 1)
    return fatal("sender_unlocking", "deposit and reserve for sender " +
                                         to_checksum(ticket.sender) + " is set to unlock soon");
  // 2. recipient
  if (ticket.recipient != self_) return fatal("invalid_recipient", "invalid ticket recipient");
  // 3. signature: canonical 65-byte form only, so one ticket has exactly one lottery draw
  const Hash ticket_hash = ticket.hash();
  auto signer = recover_ticket_signer(ticket_hash, sig);
  // go-livepeer answers every failed check with one text; the code and the log tell them apart.
  if (!signer || *signer != ticket.sender)
    return forbidden("invalid_signature", "invalid ticket signature");
  // 4. creation round: initialized, not in the future, not past the validity period
  const ExpirationParams& exp = ticket.expiration;
  if (exp.creation_round > chain.last_round.round ||
      exp.creation_round + config_.ticket_validity_rounds <= chain.last_round.round)
    return fatal("invalid_creation_round",
                 "invalid ticket creation round " + to_dec(exp.creation_round) +
                     " (last initialized round " + to_dec(chain.last_round.round) + ")");
  if (is_zero(chain.creation_round_hash) ||
      chain.creation_round_hash != exp.creation_round_block_hash)
    return fatal("invalid_creation_round_block_hash", "invalid ticket creation round block hash");
  // 5. recipientRandHash, recomputed from what the sender echoed
  const U256 rand = recipient_rand(seed, ticket.sender, ticket.face_value, ticket.win_prob,
                                   params_expiration_block, price, exp);
  if (pm::recipient_rand_hash(rand) != ticket.recipient_rand_hash)
    return fatal("invalid_recipient_rand", "invalid recipientRand for ticket recipientRandHash");
  // nonce before the lottery: a replay never gets a second draw
  if (auto st = record_nonce(rand, ticket.sender, ticket.sender_nonce, params_expiration_block);
      !st)
    return st.error();

  ReceivedTicket out{ticket.expected_value(), is_winning(sig, rand, ticket.win_prob)};
  if (out.won) {
    WinningTicket w{ticket, Bytes(sig.begin(), sig.end()), rand, params_expiration_block};
    if (auto st = winners_.add_winner(w); !st) return st.error();
  }
  // 6. params expiry: a winner stays queued (it is still valid on chain), but earns no credit
  if (params_expiration_block <= chain.block)
    return make_error(ErrorKind::retryable, "ticket_params_expired", "TicketParams expired");
  return out;
}

PaymentOutcome Recipient::receive_payment(const TicketBatch& batch, const std::string& session) {
  PaymentOutcome out;
  auto per_pixel = batch.expected_price.per_pixel();
  if (!per_pixel) {
    out.error = per_pixel.error();
    return out;
  }
  auto snap = snapshot(batch.sender, batch.params.expiration);
  if (!snap) {
    out.error = snap.error();
    return out;
  }
  for (std::size_t i = 0; i < batch.tickets.size(); ++i) {
    auto r = receive_one(*snap, batch.ticket(i), batch.tickets[i].sig, batch.params.seed,
                         batch.params.expiration_block, *per_pixel);
    if (!r) {
      if (!out.error) out.error = r.error();
      if (r.error().kind == ErrorKind::fatal) break;
      continue;
    }
    out.credited += r->ev;
    ++out.accepted;
    if (r->won) ++out.winners;
  }
  if (out.accepted) balances_.credit(batch.sender, session, out.credited);
  return out;
}

}  // namespace lp::pm
