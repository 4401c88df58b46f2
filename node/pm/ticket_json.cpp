// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/pm/ticket_json.h"

#include <limits>

#include "payment/eth/signature.h"

namespace lp::node {

namespace {

using json = nlohmann::json;

Error field_error(const char* name, const std::string& why) {
  return make_error(ErrorKind::invalid_input, "bad_field",
                    std::string("field '") + name + "': " + why);
}

const json* find(const json& doc, const char* name) {
  auto it = doc.find(name);
  return it == doc.end() || it->is_null() ? nullptr : &*it;
}

Result<U256> get_uint(const json& doc, const char* name, bool required, U256 fallback = 0) {
  const json* v = find(doc, name);
  if (!v)
    return required ? Result<U256>(field_error(name, "missing"))
                    : Result<U256>(std::move(fallback));
  if (v->is_number_unsigned()) return U256(v->get<std::uint64_t>());
  if (v->is_number_integer()) return field_error(name, "must not be negative");
  if (!v->is_string()) return field_error(name, "must be a decimal or 0x-hex string");
  auto r = parse_u256(v->get<std::string>());
  if (!r) return field_error(name, r.error().message);
  return r;
}

Result<Address> get_address(const json& doc, const char* name) {
  const json* v = find(doc, name);
  if (!v) return field_error(name, "missing");
  if (!v->is_string()) return field_error(name, "must be a 0x address string");
  auto a = parse_address(v->get<std::string>());
  if (!a) return field_error(name, a.error().message);
  return a;
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> get_fixed(const json& doc, const char* name, bool required) {
  const json* v = find(doc, name);
  if (!v)
    return required ? Result<std::array<std::uint8_t, N>>(field_error(name, "missing"))
                    : Result<std::array<std::uint8_t, N>>(std::array<std::uint8_t, N>{});
  auto b = v->is_string() ? from_hex_fixed<N>(v->get<std::string>()) : std::nullopt;
  if (!b)
    return field_error(name, "must be 0x followed by " + std::to_string(2 * N) + " hex digits");
  return *b;
}

}  // namespace

Result<TicketJson> parse_ticket_json(const json& doc, bool require_sender, bool require_sig) {
  if (!doc.is_object())
    return make_error(ErrorKind::invalid_input, "bad_json", "expected a JSON object");
  TicketJson out;
  pm::Ticket& t = out.ticket;

  auto recipient = get_address(doc, "recipient");
  if (!recipient) return recipient.error();
  t.recipient = *recipient;
  if (find(doc, "sender") || require_sender) {
    auto sender = get_address(doc, "sender");
    if (!sender) return sender.error();
    t.sender = *sender;
    out.has_sender = true;
  }
  auto fv = get_uint(doc, "faceValue", true);
  if (!fv) return fv.error();
  t.face_value = *fv;
  auto wp = get_uint(doc, "winProb", true);
  if (!wp) return wp.error();
  t.win_prob = *wp;
  auto nonce = get_uint(doc, "senderNonce", true);
  if (!nonce) return nonce.error();
  if (*nonce > std::numeric_limits<std::uint32_t>::max())
    return field_error("senderNonce", "must fit in 32 bits (go-livepeer's uint32)");
  t.sender_nonce = nonce->convert_to<std::uint32_t>();

  if (find(doc, "recipientRand")) {
    auto rand = get_uint(doc, "recipientRand", true);
    if (!rand) return rand.error();
    out.recipient_rand = *rand;
  }
  if (find(doc, "recipientRandHash")) {
    auto h = get_fixed<32>(doc, "recipientRandHash", true);
    if (!h) return h.error();
    t.recipient_rand_hash = *h;
  } else if (out.recipient_rand) {
    t.recipient_rand_hash = pm::recipient_rand_hash(*out.recipient_rand);
  } else {
    return field_error("recipientRandHash", "missing (give recipientRandHash or recipientRand)");
  }
  auto round = get_uint(doc, "creationRound", false);
  if (!round) return round.error();
  t.expiration.creation_round = *round;
  auto bh = get_fixed<32>(doc, "creationRoundBlockHash", false);
  if (!bh) return bh.error();
  t.expiration.creation_round_block_hash = *bh;

  if (const json* sig = find(doc, "sig")) {
    auto b = sig->is_string() ? from_hex(sig->get<std::string>()) : std::nullopt;
    if (!b) return field_error("sig", "must be a 0x hex string");
    out.sig = *b;
  } else if (require_sig) {
    return field_error("sig", "missing");
  }
  if (find(doc, "paramsExpirationBlock")) {
    auto e = get_uint(doc, "paramsExpirationBlock", true);
    if (!e) return e.error();
    out.params_expiration_block = *e;
  }
  return out;
}

json ticket_to_json(const pm::Ticket& t) {
  return json{{"recipient", to_checksum(t.recipient)},
              {"sender", to_checksum(t.sender)},
              {"faceValue", to_dec(t.face_value)},
              {"winProb", to_dec(t.win_prob)},
              {"senderNonce", t.sender_nonce},
              {"recipientRandHash", to_hex(t.recipient_rand_hash)},
              {"creationRound", to_dec(t.expiration.creation_round)},
              {"creationRoundBlockHash", to_hex(t.expiration.creation_round_block_hash)}};
}

}  // namespace lp::node
