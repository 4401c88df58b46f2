// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <vector>

#include "payment/common/bytes.h"
#include "payment/common/u256.h"
#include "payment/eth/signature.h"

namespace lp::pm {

/// Size of the packed ticket with and without auxData (go-livepeer Ticket.flatten).
inline constexpr std::size_t kPackedTicketSize = 232;
inline constexpr std::size_t kPackedTicketSizeNoAux = 168;

/// The round a ticket was made in and that round's block hash (the ticket's auxData).
struct ExpirationParams {
  U256 creation_round = 0;
  Hash creation_round_block_hash{};

  /// go-livepeer leaves auxData empty only when both are zero; such a ticket never redeems.
  bool aux_empty() const { return creation_round == 0 && is_zero(creation_round_block_hash); }
  bool operator==(const ExpirationParams&) const = default;
};

/// A Livepeer probabilistic micropayment ticket (TicketBroker's Ticket struct).
struct Ticket {
  Address recipient{};
  Address sender{};
  U256 face_value = 0;
  U256 win_prob = 0;
  std::uint32_t sender_nonce = 0;  ///< uint32 in go-livepeer, uint256 on chain
  Hash recipient_rand_hash{};
  ExpirationParams expiration;

  /// abi.encodePacked of the fields: 232 bytes, or 168 when auxData is empty.
  Bytes pack() const;
  /// keccak256(pack()): what the sender signs (through EIP-191) and the contract marks used.
  Hash hash() const;
  /// faceValue * winProb / (2^256 - 1), exact.
  Rational expected_value() const;
};

/// EV of a (faceValue, winProb) pair, exact.
Rational expected_value(const U256& face_value, const U256& win_prob);

/// keccak256 of recipientRand as 32 big-endian bytes: the recipient's commitment.
Hash recipient_rand_hash(const U256& recipient_rand);

/// The sender's signature over a ticket: sign(EIP-191(ticketHash)), no extra keccak.
Signature sign_ticket(const PrivateKey& key, const Ticket& ticket);
/// Recovers the signer of a ticket signature, with recover_digest's canonical-form checks.
Result<Address> recover_ticket_signer(const Hash& ticket_hash, ByteSpan sig);

/// The lottery value keccak256(sig || uint256(recipientRand)).
Hash lottery_value(ByteSpan sig, const U256& recipient_rand);
/// A ticket wins when its lottery value is strictly below winProb.
bool is_winning(ByteSpan sig, const U256& recipient_rand, const U256& win_prob);

}  // namespace lp::pm
