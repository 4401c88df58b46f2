// SPDX-License-Identifier: LGPL-2.1-or-later
// Remote bytes -> ticket JSON parser -> hash, signature recovery and lottery: never crashes,
// and a parsed ticket always packs to 168 or 232 bytes.
#include <cstdint>
#include <cstdlib>

#include "node/pm/ticket_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  auto t = lp::node::parse_ticket_json(doc, false, false);
  if (!t) return 0;
  const std::size_t n = t->ticket.pack().size();
  if (n != lp::pm::kPackedTicketSize && n != lp::pm::kPackedTicketSizeNoAux) std::abort();
  if (t->sig) {
    auto signer = lp::pm::recover_ticket_signer(t->ticket.hash(), *t->sig);
    if (signer && t->recipient_rand)
      (void)lp::pm::is_winning(*t->sig, *t->recipient_rand, t->ticket.win_prob);
  }
  return 0;
}
