// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/pm/ticket.h"

#include <cstring>

#include "payment/eth/keccak.h"

namespace lp::pm {

namespace {
void put(std::uint8_t*& p, ByteSpan b) {
  std::memcpy(p, b.data(), b.size());
  p += b.size();
}
}  // namespace

Bytes Ticket::pack() const {
  const bool aux = !expiration.aux_empty();
  Bytes out(aux ? kPackedTicketSize : kPackedTicketSizeNoAux);
  std::uint8_t* p = out.data();
  put(p, recipient);
  put(p, sender);
  put(p, to_be32(face_value));
  put(p, to_be32(win_prob));
  put(p, to_be32(U256(sender_nonce)));
  put(p, recipient_rand_hash);
  if (aux) {
    put(p, to_be32(expiration.creation_round));
    put(p, expiration.creation_round_block_hash);
  }
  return out;
}

Hash Ticket::hash() const { return keccak256(pack()); }

Rational Ticket::expected_value() const { return pm::expected_value(face_value, win_prob); }

Rational expected_value(const U256& face_value, const U256& win_prob) {
  return Rational(BigInt(face_value) * BigInt(win_prob), BigInt(max_win_prob()));
}

Hash recipient_rand_hash(const U256& recipient_rand) { return keccak256(to_be32(recipient_rand)); }

Signature sign_ticket(const PrivateKey& key, const Ticket& ticket) {
  return key.sign_digest(eip191_hash(ticket.hash()));
}

Result<Address> recover_ticket_signer(const Hash& ticket_hash, ByteSpan sig) {
  return recover_digest(eip191_hash(ticket_hash), sig);
}

Hash lottery_value(ByteSpan sig, const U256& recipient_rand) {
  return Keccak256().update(sig).update(to_be32(recipient_rand)).finish();
}

bool is_winning(ByteSpan sig, const U256& recipient_rand, const U256& win_prob) {
  Hash v = lottery_value(sig, recipient_rand);
  return to_be32(win_prob) > v;  // big-endian byte order equals numeric order
}

}  // namespace lp::pm
