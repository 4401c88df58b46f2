// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "payment/pm/ticket.h"

namespace lp::node {

/// A ticket as the operator tools read and write it, with the field names of the ethers.js
/// vectors: recipient, sender, faceValue, winProb, senderNonce, recipientRandHash (or
/// recipientRand), creationRound, creationRoundBlockHash, sig.
struct TicketJson {
  pm::Ticket ticket;
  bool has_sender = false;
  std::optional<Bytes> sig;
  std::optional<U256> recipient_rand;
  std::optional<U256> params_expiration_block;
};

/// Parses a ticket; the error message names the bad field. require_sender/require_sig make
/// those fields mandatory.
Result<TicketJson> parse_ticket_json(const nlohmann::json& doc, bool require_sender,
                                     bool require_sig);

/// The ticket's fields in the same format (addresses EIP-55, integers decimal, bytes 0x hex).
nlohmann::json ticket_to_json(const pm::Ticket& ticket);

}  // namespace lp::node
