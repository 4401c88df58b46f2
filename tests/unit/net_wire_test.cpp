// SPDX-License-Identifier: LGPL-2.1-or-later
// Byte-level interop of Livepeer's protobuf messages: fixed bytes written by hand from the
// field numbers and wire types of shared/reference/livepeer-protocol.md 2.3 (what go-livepeer's
// generated code emits), decoded, checked field by field, and re-encoded to the same bytes;
// the appendix A signatures over them.
#include <gtest/gtest.h>

#include "elements/net/protocol.h"
#include "elements/net/wire.h"
#include "payment/eth/keccak.h"
#include "payment/eth/signature.h"
#include "tests/unit/test_util.h"

namespace lp::net {
namespace {

using test::hex;

std::string raw(const std::string& h) {
  Bytes b = hex(h);
  return std::string(b.begin(), b.end());
}

std::string hexs(const std::string& s) { return to_hex(as_bytes(s), false); }

template <class M>
M parse_exact(const std::string& bytes) {
  M m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(hexs(m.SerializeAsString()), hexs(bytes)) << "re-encoding changed the bytes";
  return m;
}

// Loaded on first use, inside a test, so that a missing or broken file fails that test.
const nlohmann::json& appendix() {
  static const auto j = test::load_json("protocol-appendix-a.json");
  return j;
}
// Only a failed allocation before main could throw here.
const std::string kSender = "2c7536e3605d9c16a7a3d7b1898e529396a65c23";  // NOLINT(cert-err58-cpp)
// NOLINTNEXTLINE(cert-err58-cpp)
const std::string kRecipient = "73aed7b5deb30222fa896f399d46cc99c7bee57f";

TEST(NetWire, PriceInfo_GivenFixedBytes_RoundTrips) {
  auto p = parse_exact<::net::PriceInfo>(raw("08e8071001"));
  EXPECT_EQ(p.priceperunit(), 1000);
  EXPECT_EQ(p.pixelsperunit(), 1);
  EXPECT_EQ(hexs(to_proto(from_proto(p)).SerializeAsString()), "08e8071001");
}

TEST(NetWire, OrchestratorRequest_GivenAppendixSig_VerifiesAgainstEip55String) {
  const std::string sig = appendix()["orchestratorRequest"]["sig"].get<std::string>().substr(2);
  auto req = parse_exact<::net::OrchestratorRequest>(raw("0a14" + kSender + "1241" + sig));
  auto addr = address_field(req.address(), "address");
  ASSERT_TRUE(addr);
  const std::string message = to_checksum(*addr);
  EXPECT_EQ(message, appendix()["orchestratorRequest"]["message"].get<std::string>());
  EXPECT_TRUE(verify_message(*addr, as_bytes(message), as_bytes(req.sig())));
  // Lower-case hex is a different message: go-livepeer's orchestrator refuses it.
  std::string lower = "0x" + kSender;
  EXPECT_FALSE(verify_message(*addr, as_bytes(lower), as_bytes(req.sig())));
}

TEST(NetWire, SegData_GivenFlattenVector_FieldsNamesAndSignature) {
  const std::string browns = hexs("browns") + std::string(std::size_t{2} * 26, '0');
  const std::string sig = appendix()["segmentSig"]["sig"].get<std::string>().substr(2);
  // VideoProfile: name=16 (82 01), width=17 (88 01), height=18 (90 01), bitrate=19 (98 01), fps=20
  // (a0 01).
  const std::string p144 =
      "82010e" + hexs("P144p30fps16x9") + "88018002" + "90019001" + "980180b518" + "a0011e";
  const std::string p240 =
      "82010e" + hexs("P240p30fps16x9") + "8801aa03" + "9001f001" + "9801c0cf24" + "a0011e";
  const std::string bytes = "0a06" + hexs("abcdef") + "10d209" + "1a20" + browns + "2207" +
                            hexs("invalid") + "2a41" + sig + "30d00f" + "8a0221" + p144 + "8a0221" +
                            p240;
  auto s = parse_exact<::net::SegData>(raw(bytes));
  EXPECT_EQ(s.manifestid(), "abcdef");
  EXPECT_EQ(s.seq(), 1234);
  EXPECT_EQ(s.duration(), 2000);
  EXPECT_EQ(s.profiles(), "invalid");
  ASSERT_EQ(s.fullprofiles_size(), 2);
  EXPECT_EQ(s.fullprofiles(1).width(), 426);
  EXPECT_EQ(s.fullprofiles(1).bitrate(), 600000);
  const auto names = segdata_profile_names(s);
  EXPECT_EQ(profile_ids_hex(names), "fca40bf9c0a6517a");
  Hash h{};
  std::copy(s.hash().begin(), s.hash().end(), h.begin());
  const Bytes flat = segment_flatten(s.manifestid(), s.seq(), h, names);
  EXPECT_EQ(flat.size(), 86u);
  EXPECT_EQ(to_hex(keccak256(flat)),
            appendix()["segmentSig"]["keccakOfFlatten"].get<std::string>());
  auto signer = parse_address(appendix()["address"].get<std::string>());
  ASSERT_TRUE(signer);
  EXPECT_TRUE(verify_message(*signer, flat, as_bytes(s.sig())));
  // The header form: standard base64 with padding.
  ::net::SegData back;
  ASSERT_TRUE(decode_header(encode_header(s), &back));
  EXPECT_EQ(back.SerializeAsString(), s.SerializeAsString());
}

TEST(NetWire, Payment_GivenAppendixTicket_BytesAsGoLivepeerAndTicketHash) {
  const auto& t = appendix()["ticket"];
  const std::string sig = t["sig"].get<std::string>().substr(2);
  const std::string rrh = t["recipientRandHash"].get<std::string>().substr(2);
  const std::string block_hash = t["creationRoundBlockHash"].get<std::string>().substr(2);
  // ticket_params (1) carries fields 1-6 only; seed and expiration_block are zero: empty, omitted.
  const std::string params = "0a14" + kRecipient + "1207038d7ea4c68000" + "1a20" +
                             std::string(1, '7') + std::string(63, 'f') + "2220" + rrh;
  const std::string bytes = "0a63" + params + "1214" + kSender + "1a24080a1220" + block_hash +
                            "22450801" + "1241" + sig + "2a0508e8071001";
  auto p = parse_exact<::net::Payment>(raw(bytes));
  auto batch = from_proto(p);
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_EQ(batch->tickets.size(), 1u);
  const pm::Ticket ticket = batch->ticket(0);
  EXPECT_EQ(to_hex(ticket.hash()), t["ticketHash"].get<std::string>());
  EXPECT_EQ(to_hex(batch->tickets[0].sig), t["sig"].get<std::string>());
  EXPECT_EQ(batch->expected_price.price_per_unit, 1000);
  // And back: the gateway's encoding is these bytes.
  EXPECT_EQ(hexs(to_proto(*batch).SerializeAsString()), bytes);
}

TEST(NetWire, Payment_GivenNoTickets_SenderAndPriceOnlyAsGoLivepeerGenPayment) {
  // Credit that covers the fee: go-livepeer's gateway sends no ticket params, no expiration
  // params and no tickets, only who pays (field 2) and the price it expects (field 5).
  const std::string bytes = "1214" + kSender + "2a0508e8071001";
  const auto p = parse_exact<::net::Payment>(raw(bytes));
  pm::TicketBatch b;
  b.sender = address_field(p.sender(), "sender").value();
  b.expected_price = from_proto(p.expected_price());
  b.params.recipient = b.sender;  // known, and still not sent: there are no tickets
  EXPECT_EQ(hexs(to_proto(b).SerializeAsString()), bytes);
}

TEST(NetWire, Payment_GivenHostileFields_ErrorNamesField) {
  ::net::Payment p;
  EXPECT_EQ(from_proto(p).error().code, "no_ticket_params");
  p.mutable_ticket_params()->set_recipient(raw(kRecipient));
  p.mutable_ticket_params()->set_recipient_rand_hash(std::string(32, '\1'));
  EXPECT_EQ(from_proto(p).error().code,
            "no_expiration_params");  // go-livepeer would dereference nil
  p.mutable_expiration_params()->set_creation_round(1);
  p.set_sender(raw(kSender).substr(1));
  auto r = from_proto(p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sender must be 20 bytes"), std::string::npos)
      << r.error().message;
  p.set_sender(raw(kSender));
  p.mutable_ticket_params()->set_face_value(std::string(33, '\1'));
  r = from_proto(p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("face_value"), std::string::npos);
  p.mutable_ticket_params()->set_face_value("");
  p.mutable_expiration_params()->set_creation_round_block_hash("short");
  EXPECT_FALSE(from_proto(p));
  p.mutable_expiration_params()->set_creation_round(-5);
  EXPECT_FALSE(from_proto(p));
}

TEST(NetWire, MinimalBigEndian_GivenEdgeValues_AsGoBigInt) {
  EXPECT_EQ(minimal_be(0), "");
  EXPECT_EQ(hexs(minimal_be(U256(1000000000000000ULL))), "038d7ea4c68000");
  EXPECT_EQ(hexs(minimal_be(max_win_prob())), std::string(64, 'f'));
  EXPECT_EQ(from_minimal_be("", "x").value(), 0);
  EXPECT_EQ(from_minimal_be(raw("00000001"), "x").value(), 1);  // leading zeros accepted
  EXPECT_FALSE(from_minimal_be(std::string(33, '\1'), "x"));
}

TEST(NetWire, Headers_GivenBadBase64OrProtobuf_Errors) {
  ::net::Payment p;
  EXPECT_TRUE(decode_header("", &p));  // offchain: an empty payment
  EXPECT_EQ(decode_header("not base64!", &p).error().code, "bad_base64");
  // Go's texts, which go-livepeer's answers quote.
  EXPECT_EQ(decode_header("not base64!", &p).error().message,
            "illegal base64 data at input byte 3");
  EXPECT_EQ(decode_header("AAAA", &p).error().message, kErrProtoParse);
  EXPECT_EQ(decode_header("AAA", &p).error().code, "bad_base64");  // unpadded
  EXPECT_EQ(decode_header("A=AA", &p).error().code,
            "bad_base64");  // padding inside
  EXPECT_EQ(decode_header("AAAA", &p).error().code,
            "bad_protobuf");  // field number 0
  EXPECT_EQ(decode_header(base64_encode(raw("0aff")), &p).error().code,
            "bad_protobuf");  // length past the end
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(base64_decode("YWI=").value(), "ab");
  EXPECT_EQ(base64_decode("YQ==").value(), "a");
}

// go-livepeer decodes both headers with Go's base64.StdEncoding.DecodeString: what it accepts
// (CR/LF anywhere, unused low bits set) and the offset its error names ("illegal base64 data at
// input byte N", which go-livepeer's 402 answer quotes), from the rules of Go's decoder.
TEST(NetWire, Base64_GivenGoStdEncodingCases_SameBytesAndErrorOffsets) {
  EXPECT_EQ(base64_decode("").value(), "");
  EXPECT_EQ(base64_decode("YWJj").value(), "abc");
  EXPECT_EQ(base64_decode("YW\r\nJj\n").value(), "abc");  // newlines skipped
  EXPECT_EQ(base64_decode("YWI=\n").value(), "ab");
  EXPECT_EQ(base64_decode("YR==").value(), "a");  // not strict: unused bits of 'R' set
  const std::pair<const char*, int> bad[] = {
      {"!", 0},       {"=", 0},       {"YWJj!", 4},    {"YWJ", 0},       {"YWJjZA", 4},
      {"YQ=", 3},     {"YQ=x", 2},    {"YQ==YQ==", 4}, {"Y===", 1},      {"YWJjY", 4},
      {"YWJj\nZ", 5}, {"YQ==\nx", 5}, {"%%%", 0},      {"YWJj YWJj", 4}, {"YWJjYWJj-A==", 8},
  };
  for (const auto& [text, offset] : bad) {
    auto r = base64_decode(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, "bad_base64") << text;
    EXPECT_EQ(r.error().message, "illegal base64 data at input byte " + std::to_string(offset))
        << text;
  }
}

TEST(NetWire, UnknownFields_GivenNewerPeerFields_SurviveReencoding) {
  // transcoder=1, hardware=7 (fields not in our .proto), and an unknown field 99 at the end.
  const std::string bytes = "0a15" + hexs("https://o.example:893") + "3a050a0378797a" + "980601";
  auto info = parse_exact<::net::OrchestratorInfo>(raw(bytes));
  EXPECT_EQ(info.transcoder(), "https://o.example:893");
  EXPECT_EQ(info.hardware_size(), 1);
}

TEST(NetWire, TicketParams_GivenOrchestratorInfoForm_KeepsNestedExpiration) {
  pm::TicketParams tp;
  tp.recipient = test::hexn<20>(kRecipient);
  tp.face_value = 1000;
  tp.win_prob = max_win_prob();
  tp.seed = 7;
  tp.expiration_block = 140;
  tp.expiration.creation_round = 10;
  tp.expiration.creation_round_block_hash =
      test::hexn<32>(appendix()["ticket"]["creationRoundBlockHash"]);
  const std::string bytes = to_proto(tp).SerializeAsString();
  auto back = from_proto(parse_exact<::net::TicketParams>(bytes));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->expiration_block, 140);
  EXPECT_EQ(back->seed, 7);
  EXPECT_EQ(back->expiration, tp.expiration);
  EXPECT_NE(hexs(bytes).find("3a24080a1220"), std::string::npos);  // expiration_params = field 7
}

TEST(Protocol, RenditionPath_GivenRenditionUrl_RoundTrips) {
  const std::string url = rendition_url("https://127.0.0.1:8936", "a1b2c3d4", "P240p30fps16x9", 17);
  EXPECT_EQ(url, "https://127.0.0.1:8936/stream/a1b2c3d4/P240p30fps16x9/17.ts");
  const std::string path = url.substr(std::string("https://127.0.0.1:8936").size());
  auto p = parse_rendition_path(path);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->session, "a1b2c3d4");
  EXPECT_EQ(p->profile, "P240p30fps16x9");
  EXPECT_EQ(p->seq, 17);
  p = parse_rendition_path(rendition_url("", "s", "p", 0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->seq, 0);
  p = parse_rendition_path("/stream/s/p/9223372036854775807.ts");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->seq, INT64_MAX);
}

TEST(Protocol, RenditionPath_GivenMalformedPaths_Rejected) {
  for (const char* bad : {
           "",                                     // nothing
           "/stream/",                             // missing parts
           "/stream/s",                            //
           "/stream/s/p",                          //
           "/stream/s/7.ts",                       // no profile
           "/stream//p/7.ts",                      // empty session
           "/stream/s//7.ts",                      // empty profile
           "/stream/s/p/.ts",                      // no seq
           "/stream/s/p/x.ts",                     // not a number
           "/stream/s/p/0x1.ts",                   //
           "/stream/s/p/+1.ts",                    //
           "/stream/s/p/-1.ts",                    // negative
           "/stream/s/p/ 1.ts",                    //
           "/stream/s/p/99999999999999999999.ts",  // out of range
           "/stream/s/p/7",                        // no .ts
           "/stream/s/p/7.ts.bak",                 // trailing junk
           "/stream/s/p/7.tsx",                    //
           "/stream/s/p/7x.ts",                    //
           "/stream/s/p/7.ts/",                    //
           "/stream/s/p/q/7.ts",                   // extra slashes
           "/stream/s/p//7.ts",                    //
           "//stream/s/p/7.ts",                    //
           "/stream//s/p/7.ts",                    //
           "/streams/s/p/7.ts",                    // another path
           "/segment/s/p/7.ts",                    //
           "stream/s/p/7.ts",                      //
       })
    EXPECT_FALSE(parse_rendition_path(bad)) << bad;
}

}  // namespace
}  // namespace lp::net
