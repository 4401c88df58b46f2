// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "payment/eth/keccak.h"
#include "payment/eth/signature.h"
#include "tests/unit/test_util.h"

namespace lp {
namespace {

using test::hex;
using test::hexn;

PrivateKey example_key() {
  return PrivateKey::from_bytes(
             hex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
      .value();
}

TEST(Keccak, Hash_GivenKnownInputs_MatchesEthereumKeccakNotSha3) {
  EXPECT_EQ(to_hex(keccak256({})),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(to_hex(keccak256(as_bytes("foo"))),
            "0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d");
  // SHA3-256("") is a7ffc6f8...: the padding differs, so this guards against the wrong primitive.
  EXPECT_NE(to_hex(keccak256({})),
            "0xa7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

TEST(Keccak, Incremental_GivenSplitInput_EqualsOneShot) {
  Bytes data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
  Hash one = keccak256(data);
  Hash parts =
      Keccak256().update(ByteSpan(data).first(137)).update(ByteSpan(data).subspan(137)).finish();
  EXPECT_EQ(one, parts);
}

TEST(Address, FromKey_GivenWeb3DocsKey_IsTheDocumentedAddress) {
  EXPECT_EQ(to_checksum(example_key().address()), "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
}

TEST(Address, Parse_GivenChecksumCases_AcceptsValidAndRejectsBadChecksum) {
  EXPECT_TRUE(parse_address("0x73AEd7b5dEb30222fa896f399d46cC99c7BEe57F"));
  EXPECT_TRUE(parse_address("0x73aed7b5deb30222fa896f399d46cc99c7bee57f"));
  EXPECT_TRUE(parse_address("0x73AED7B5DEB30222FA896F399D46CC99C7BEE57F"));
  auto bad = parse_address("0x73AEd7b5dEb30222fa896f399d46cC99c7BEe57f");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "bad_checksum");
  EXPECT_EQ(parse_address("0x73aed7b5").error().code, "bad_address");
  EXPECT_EQ(parse_address("0x73aed7b5deb30222fa896f399d46cc99c7bee5zz").error().code,
            "bad_address");
}

TEST(Address, Checksum_GivenEip55Examples_MatchesSpec) {
  for (const char* a :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    EXPECT_EQ(to_checksum(parse_address(a).value()), a);
  }
}

TEST(Signature, Recover_GivenGoLivepeerVector_RecoversOnlyOverEip191Hash) {
  auto v = test::load_json("upstream-go-livepeer.json")["ecrecover"];
  Hash msg = hexn<32>(v["message32"]);
  Bytes sig = hex(v["sig"]);
  auto signer = recover_digest(eip191_hash(msg), sig);
  ASSERT_TRUE(signer) << signer.error().to_string();
  EXPECT_EQ(to_checksum(*signer), v["address"].get<std::string>());
  auto raw = recover_digest(msg, sig);
  ASSERT_TRUE(raw);
  EXPECT_NE(to_checksum(*raw), v["address"].get<std::string>());
}

TEST(Signature, Recover_GivenGoLivepeerHighSVector_RejectsWithHighS) {
  auto v = test::load_json("upstream-go-livepeer.json")["ecrecover"];
  auto r = recover_digest(eip191_hash(hexn<32>(v["message32"])), hex(v["high_s_sig_must_fail"]));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "sig_high_s");
}

TEST(Signature, Sign_GivenAppendixVectors_ProducesIdenticalBytes) {
  auto a = test::load_json("protocol-appendix-a.json");
  PrivateKey key = example_key();
  // OrchestratorRequest.sig: Sign(EIP-55 address string)
  std::string msg = a["orchestratorRequest"]["message"];
  EXPECT_EQ(to_hex(keccak256(as_bytes(msg))),
            a["orchestratorRequest"]["keccak"].get<std::string>());
  EXPECT_EQ(to_hex(sign_message(key, as_bytes(msg))),
            a["orchestratorRequest"]["sig"].get<std::string>());
  EXPECT_TRUE(verify_message(key.address(), as_bytes(msg), sign_message(key, as_bytes(msg))));
  // Segment signature over the TestSegmentFlatten metadata's keccak
  Hash flat = hexn<32>(a["segmentSig"]["keccakOfFlatten"]);
  EXPECT_EQ(to_hex(key.sign_digest(eip191_hash(flat))), a["segmentSig"]["sig"].get<std::string>());
  // TranscodeData.sig over keccak(keccak(r1) || keccak(r2))
  Keccak256 all;
  for (std::size_t i = 0; i < 2; ++i) {
    Hash h = keccak256(as_bytes(a["transcodeResult"]["renditions"][i].get<std::string>()));
    EXPECT_EQ(to_hex(h), a["transcodeResult"]["hashes"][i].get<std::string>());
    all.update(h);
  }
  Hash agg = all.finish();
  EXPECT_EQ(to_hex(agg), a["transcodeResult"]["keccakOfHashes"].get<std::string>());
  // transcodeSeg signs the aggregate hash itself through the account manager (no extra keccak).
  EXPECT_EQ(to_hex(key.sign_digest(eip191_hash(agg))),
            a["transcodeResult"]["sig"].get<std::string>());
}

TEST(Signature, SegmentFlatten_GivenGoLivepeerVector_HashesAsUpstream) {
  auto v = test::load_json("upstream-go-livepeer.json")["segment_flatten"];
  const std::string manifest = v["manifestID"];
  Bytes flat(manifest.begin(), manifest.end());
  Hash seq = to_be32(U256(v["seq"].get<std::uint64_t>()));
  flat.insert(flat.end(), seq.begin(), seq.end());
  Hash h{};
  std::string browns = v["hash_ascii_right_padded_to_32"];
  std::copy(browns.begin(), browns.end(), h.begin());
  flat.insert(flat.end(), h.begin(), h.end());
  std::string ids;
  for (const auto& p : v["profiles"]) {
    Hash id = keccak256(as_bytes(p.get<std::string>()));
    ids += to_hex(ByteSpan(id).first(4), false);
  }
  flat.insert(flat.end(), ids.begin(), ids.end());
  EXPECT_EQ(flat.size(), v["flatten_length"].get<std::size_t>());
  EXPECT_EQ(ids.substr(ids.size() - 16), v["flatten_ends_with_ascii"].get<std::string>());
  EXPECT_EQ(to_hex(keccak256(flat), false), v["keccak256_of_flatten"].get<std::string>());
}

TEST(Signature, ProfileIds_GivenUpstreamTable_AreKeccakPrefixes) {
  auto ids = test::load_json("upstream-go-livepeer.json")["profile_ids"];
  for (auto& [name, id] : ids.items()) {
    Hash h = keccak256(as_bytes(name));
    EXPECT_EQ(to_hex(ByteSpan(h).first(4), false), id.get<std::string>()) << name;
  }
}

class HostileSignature : public ::testing::Test {
 protected:
  PrivateKey key = example_key();
  Hash digest = keccak256(as_bytes("hostile"));
  Signature good = key.sign_digest(digest);
};

TEST_F(HostileSignature, Recover_GivenCanonicalSignature_RecoversSigner) {
  auto r = recover_digest(digest, good);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, key.address());
  EXPECT_TRUE(good[64] == 27 || good[64] == 28);
}

TEST_F(HostileSignature, Recover_GivenEip2098CompactForm_RejectsWithLength) {
  // EIP-2098: r || (yParity << 255 | s), 64 bytes. The 2022 TicketBroker bug accepted it.
  Bytes compact(good.begin(), good.begin() + 64);
  if (good[64] == 28) compact[32] |= 0x80;
  auto r = recover_digest(digest, compact);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "sig_length");
  EXPECT_EQ(recover_digest(digest, Bytes(66, 1)).error().code, "sig_length");
  EXPECT_EQ(recover_digest(digest, Bytes{}).error().code, "sig_length");
}

TEST_F(HostileSignature, Recover_GivenHighSTwin_RejectsWithHighS) {
  // s' = n - s, V flipped: the malleated twin recovers the same key in plain ECDSA.
  const U256 n = test::u256("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  U256 s = *u256_from_be(ByteSpan(good).subspan(32, 32));
  Hash s2 = to_be32(n - s);
  Signature twin = good;
  std::copy(s2.begin(), s2.end(), twin.begin() + 32);
  twin[64] = good[64] == 27 ? 28 : 27;
  EXPECT_EQ(recover_digest(digest, twin).error().code, "sig_high_s");
}

TEST_F(HostileSignature, Recover_GivenBadV_RejectsWithBadV) {
  for (std::uint8_t v : {0, 1, 26, 29, 30, 255}) {
    Signature s = good;
    s[64] = v;
    EXPECT_EQ(recover_digest(digest, s).error().code, "sig_bad_v") << int(v);
  }
}

TEST_F(HostileSignature, Recover_GivenZeroROrS_RejectsWithZero) {
  Signature zr = good;
  std::fill(zr.begin(), zr.begin() + 32, 0);
  EXPECT_EQ(recover_digest(digest, zr).error().code, "sig_zero_rs");
  Signature zs = good;
  std::fill(zs.begin() + 32, zs.begin() + 64, 0);
  EXPECT_EQ(recover_digest(digest, zs).error().code, "sig_zero_rs");
}

TEST_F(HostileSignature, Recover_GivenROverflowingOrder_Rejects) {
  Signature big = good;
  std::fill(big.begin(), big.begin() + 32, 0xff);
  EXPECT_EQ(recover_digest(digest, big).error().code, "sig_overflow");
}

TEST_F(HostileSignature, Verify_GivenOtherSigner_RejectsWithWrongSigner) {
  PrivateKey other = PrivateKey::generate();
  auto st = verify_message(other.address(), as_bytes("m"), sign_message(key, as_bytes("m")));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "sig_wrong_signer");
}

TEST(PrivateKey, FromBytes_GivenZeroOrOrderOrShort_Rejects) {
  EXPECT_EQ(PrivateKey::from_bytes(Bytes(32, 0)).error().code, "key_invalid");
  EXPECT_EQ(PrivateKey::from_bytes(
                hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"))
                .error()
                .code,
            "key_invalid");
  EXPECT_EQ(PrivateKey::from_bytes(Bytes(31, 1)).error().code, "key_length");
}

TEST(PrivateKey, Sign_GivenSameDigest_IsDeterministicRfc6979) {
  PrivateKey k = example_key();
  Hash d = keccak256(as_bytes("x"));
  EXPECT_EQ(k.sign_digest(d), k.sign_digest(d));
}

}  // namespace
}  // namespace lp
