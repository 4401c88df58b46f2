// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/net/wire.h"

#include <openssl/evp.h>

#include <algorithm>

#include "elements/net/protocol.h"
#include "payment/eth/keccak.h"

namespace lp::net {

namespace {

Error bad(const std::string& code, const std::string& message) {
  return make_error(ErrorKind::invalid_input, code, message);
}

std::string bytes_of(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

Result<Hash> hash_field(std::string_view bytes, const char* field) {
  if (bytes.size() != 32)
    return bad("bad_field",
               std::string(field) + " must be 32 bytes, not " + std::to_string(bytes.size()));
  Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

}  // namespace

std::string minimal_be(const U256& v) {
  const Hash be = to_be32(v);
  auto first = std::find_if(be.begin(), be.end(), [](std::uint8_t b) { return b != 0; });
  return std::string(first, be.end());
}

Result<U256> from_minimal_be(std::string_view bytes, const char* field) {
  if (bytes.size() > 32) return bad("bad_field", std::string(field) + " is longer than 32 bytes");
  return u256_from_be(as_bytes(bytes));
}

Result<Address> address_field(std::string_view bytes, const char* field) {
  if (bytes.size() != 20)
    return bad("bad_field",
               std::string(field) + " must be 20 bytes, not " + std::to_string(bytes.size()));
  Address a{};
  std::copy(bytes.begin(), bytes.end(), a.begin());
  return a;
}

::net::PriceInfo to_proto(const pm::PriceInfo& p) {
  ::net::PriceInfo out;
  out.set_priceperunit(p.price_per_unit);
  out.set_pixelsperunit(p.pixels_per_unit);
  return out;
}

pm::PriceInfo from_proto(const ::net::PriceInfo& p) {
  return pm::PriceInfo{p.priceperunit(), p.pixelsperunit()};
}

::net::TicketExpirationParams to_proto(const pm::ExpirationParams& e) {
  ::net::TicketExpirationParams out;
  out.set_creation_round(static_cast<std::int64_t>(e.creation_round));
  out.set_creation_round_block_hash(bytes_of(e.creation_round_block_hash));
  return out;
}

Result<pm::ExpirationParams> from_proto(const ::net::TicketExpirationParams& e) {
  if (e.creation_round() < 0) return bad("bad_field", "creation_round is negative");
  pm::ExpirationParams out;
  out.creation_round = static_cast<std::uint64_t>(e.creation_round());
  // go-livepeer leaves the hash empty for round 0 (auxData empty); anything else is 32 bytes.
  if (!e.creation_round_block_hash().empty()) {
    auto h = hash_field(e.creation_round_block_hash(), "creation_round_block_hash");
    if (!h) return h.error();
    out.creation_round_block_hash = *h;
  }
  return out;
}

static void fill_params(const pm::TicketParams& p, ::net::TicketParams* out) {
  out->set_recipient(bytes_of(p.recipient));
  out->set_face_value(minimal_be(p.face_value));
  out->set_win_prob(minimal_be(p.win_prob));
  out->set_recipient_rand_hash(bytes_of(p.recipient_rand_hash));
  out->set_seed(minimal_be(p.seed));
  out->set_expiration_block(minimal_be(p.expiration_block));
}

::net::TicketParams to_proto(const pm::TicketParams& p) {
  ::net::TicketParams out;
  fill_params(p, &out);
  *out.mutable_expiration_params() = to_proto(p.expiration);
  return out;
}

Result<pm::TicketParams> from_proto(const ::net::TicketParams& p) {
  pm::TicketParams out;
  auto recipient = address_field(p.recipient(), "ticket_params.recipient");
  if (!recipient) return recipient.error();
  out.recipient = *recipient;
  struct {
    const std::string& bytes;
    U256* to;
    const char* name;
  } ints[] = {{p.face_value(), &out.face_value, "ticket_params.face_value"},
              {p.win_prob(), &out.win_prob, "ticket_params.win_prob"},
              {p.seed(), &out.seed, "ticket_params.seed"},
              {p.expiration_block(), &out.expiration_block, "ticket_params.expiration_block"}};
  for (auto& i : ints) {
    auto v = from_minimal_be(i.bytes, i.name);
    if (!v) return v.error();
    *i.to = *v;
  }
  auto rrh = hash_field(p.recipient_rand_hash(), "ticket_params.recipient_rand_hash");
  if (!rrh) return rrh.error();
  out.recipient_rand_hash = *rrh;
  if (p.has_expiration_params()) {
    auto e = from_proto(p.expiration_params());
    if (!e) return e.error();
    out.expiration = *e;
  }
  return out;
}

::net::Payment to_proto(const pm::TicketBatch& batch) {
  // As go-livepeer's genPayment: sender and expected price always; the ticket params, their
  // expiration and the tickets only when there are tickets (a payment whose existing credit
  // covers the fee carries none, and the orchestrator checks the balance alone).
  ::net::Payment out;
  out.set_sender(bytes_of(batch.sender));
  *out.mutable_expected_price() = to_proto(batch.expected_price);
  if (batch.tickets.empty()) return out;
  fill_params(batch.params, out.mutable_ticket_params());
  *out.mutable_expiration_params() = to_proto(batch.params.expiration);
  for (const auto& t : batch.tickets) {
    auto* tsp = out.add_ticket_sender_params();
    tsp->set_sender_nonce(t.sender_nonce);
    tsp->set_sig(bytes_of(t.sig));
  }
  return out;
}

Result<pm::TicketBatch> from_proto(const ::net::Payment& p) {
  if (!p.has_ticket_params()) return bad("no_ticket_params", "the payment has no ticket params");
  if (!p.has_expiration_params())
    return bad("no_expiration_params", "the payment has ticket params but no expiration params");
  pm::TicketBatch out;
  auto params = from_proto(p.ticket_params());
  if (!params) return params.error();
  out.params = *params;
  auto e = from_proto(p.expiration_params());
  if (!e) return e.error();
  out.params.expiration = *e;
  auto sender = address_field(p.sender(), "sender");
  if (!sender) return sender.error();
  out.sender = *sender;
  for (const auto& t : p.ticket_sender_params()) {
    const auto& sig = t.sig();
    out.tickets.push_back({t.sender_nonce(), Bytes(sig.begin(), sig.end())});
  }
  out.expected_price = from_proto(p.expected_price());
  return out;
}

std::string profile_ids_hex(const std::vector<std::string>& profile_names) {
  std::string out;
  for (const auto& name : profile_names) {
    const Hash id = keccak256(as_bytes(name));
    out += to_hex(ByteSpan(id).first(4), false);
  }
  return out;
}

Bytes segment_flatten(std::string_view manifest_id, std::int64_t seq, const Hash& segment_hash,
                      const std::vector<std::string>& profile_names) {
  Bytes out(manifest_id.begin(), manifest_id.end());
  // The seq enters as a 32-byte big-endian integer (go-livepeer: leftpad of big.Int bytes).
  const Hash seq_be = to_be32(U256(static_cast<std::uint64_t>(seq)));
  out.insert(out.end(), seq_be.begin(), seq_be.end());
  out.insert(out.end(), segment_hash.begin(), segment_hash.end());
  const std::string ids = profile_ids_hex(profile_names);
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

std::vector<std::string> segdata_profile_names(const ::net::SegData& s) {
  const auto& profiles = s.fullprofiles3_size()   ? s.fullprofiles3()
                         : s.fullprofiles2_size() ? s.fullprofiles2()
                                                  : s.fullprofiles();
  std::vector<std::string> names;
  for (const auto& p : profiles) names.push_back(p.name());
  return names;
}

::net::Capabilities h264_job_capabilities() {
  ::net::Capabilities c;
  c.add_bitstring((1u << 0) | (1u << 1) | (1u << 12));  // H264, MPEGTS, AuthToken
  return c;
}

::net::SegData signed_segdata(const PrivateKey& gateway, std::string_view manifest_id,
                              std::int64_t seq, std::string_view body,
                              const std::vector<::net::VideoProfile>& profiles,
                              const ::net::AuthToken& auth_token, std::int32_t duration_ms) {
  return signed_segdata([&](ByteSpan m) { return sign_message(gateway, m); }, manifest_id, seq,
                        body, profiles, auth_token, duration_ms);
}

::net::SegData signed_segdata(const MessageSigner& sign, std::string_view manifest_id,
                              std::int64_t seq, std::string_view body,
                              const std::vector<::net::VideoProfile>& profiles,
                              const ::net::AuthToken& auth_token, std::int32_t duration_ms) {
  ::net::SegData s;
  s.set_manifestid(std::string(manifest_id));
  s.set_seq(seq);
  const Hash h = keccak256(as_bytes(body));
  s.set_hash(bytes_of(h));
  s.set_profiles("invalid");  // breaks orchestrators older than fullProfiles, as go-livepeer does
  s.set_duration(duration_ms);
  *s.mutable_capabilities() = h264_job_capabilities();
  *s.mutable_auth_token() = auth_token;
  std::vector<std::string> names;
  for (const auto& p : profiles) {
    *s.add_fullprofiles3() = p;
    names.push_back(p.name());
  }
  const Signature sig = sign(segment_flatten(manifest_id, seq, h, names));
  s.set_sig(bytes_of(sig));
  return s;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

Result<std::string> base64_decode(std::string_view src) {
  // Go's base64.StdEncoding.DecodeString, which go-livepeer decodes both headers with: the
  // standard alphabet, padding required, CR and LF skipped anywhere, the unused bits of the last
  // character not checked; an error names the offset Go names (its CorruptInputError).
  const auto corrupt = [](std::size_t at) {
    return bad("bad_base64", "illegal base64 data at input byte " + std::to_string(at));
  };
  const auto newline = [](char c) { return c == '\n' || c == '\r'; };
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(src.size() / 4 * 3);
  std::size_t si = 0;
  for (;;) {  // one quantum of up to four characters per turn
    std::uint32_t bits = 0;
    std::size_t got = 0;  // characters of this quantum, newlines not counted
    bool last = false;
    while (got < 4) {
      if (si == src.size()) {
        if (got == 0) return out;
        return corrupt(si - got);  // a quantum cut short: padding is required
      }
      const char in = src[si++];
      if (const int v = value(in); v >= 0) {
        bits |= static_cast<std::uint32_t>(v) << (6 * (3 - got));
        ++got;
        continue;
      }
      if (newline(in)) continue;
      if (in != '=' || got < 2) return corrupt(si - 1);
      if (got == 2) {  // "==": the second one must follow, newlines aside
        while (si < src.size() && newline(src[si])) ++si;
        if (si == src.size()) return corrupt(src.size());
        if (src[si] != '=') return corrupt(si - 1);
        ++si;
      }
      while (si < src.size() && newline(src[si])) ++si;
      if (si < src.size()) return corrupt(si);  // something after the padding
      last = true;
      break;
    }
    out.push_back(static_cast<char>(bits >> 16));
    if (got >= 3) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (got == 4) out.push_back(static_cast<char>(bits & 0xff));
    if (last) return out;
  }
}

std::string encode_header(const google::protobuf::MessageLite& m) {
  return base64_encode(m.SerializeAsString());
}

Status decode_header(std::string_view header, google::protobuf::MessageLite* m) {
  auto raw = base64_decode(header);
  if (!raw) return raw.error();
  if (!m->ParseFromString(*raw)) return bad("bad_protobuf", kErrProtoParse);
  return ok_status();
}

}  // namespace lp::net
