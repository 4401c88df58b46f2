// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/eth/signature.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstring>
#include <stdexcept>

#include "payment/eth/keccak.h"

namespace lp {

namespace {

// n/2 for secp256k1, big-endian: a signature with a larger s is the malleated twin.
constexpr std::array<std::uint8_t, 32> kHalfOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

void fill_random(std::uint8_t* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

// One context for the process: created once, randomized against side channels, then only read.
const secp256k1_context* ctx() {
  static const secp256k1_context* c = [] {
    // Since libsecp256k1 0.2 every context signs and verifies (the SIGN/VERIFY flags are
    // deprecated aliases of NONE).
    secp256k1_context* made = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<std::uint8_t, 32> seed{};
    fill_random(seed.data(), seed.size());
    if (!secp256k1_context_randomize(made, seed.data()))
      throw std::runtime_error("secp256k1 randomize");
    return made;
  }();
  return c;
}

Address address_of(const secp256k1_pubkey& pub) {
  std::array<std::uint8_t, 65> raw{};
  size_t len = raw.size();
  secp256k1_ec_pubkey_serialize(ctx(), raw.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  Hash h = keccak256(ByteSpan(raw.data() + 1, 64));
  Address a{};
  std::memcpy(a.data(), h.data() + 12, 20);
  return a;
}

Error sig_error(const char* code, std::string msg) {
  return make_error(ErrorKind::forbidden, code, std::move(msg));
}

}  // namespace

Result<PrivateKey> PrivateKey::from_bytes(ByteSpan bytes) {
  if (bytes.size() != 32)
    return make_error(ErrorKind::invalid_input, "key_length",
                      "private key must be 32 bytes, got " + std::to_string(bytes.size()));
  std::array<std::uint8_t, 32> s{};
  std::memcpy(s.data(), bytes.data(), 32);
  if (!secp256k1_ec_seckey_verify(ctx(), s.data())) {
    OPENSSL_cleanse(s.data(), s.size());
    return make_error(ErrorKind::invalid_input, "key_invalid",
                      "private key is zero or not below the secp256k1 group order");
  }
  PrivateKey k(s);
  OPENSSL_cleanse(s.data(), s.size());
  return k;
}

PrivateKey PrivateKey::generate() {
  std::array<std::uint8_t, 32> s{};
  do {
    fill_random(s.data(), s.size());
  } while (!secp256k1_ec_seckey_verify(ctx(), s.data()));
  PrivateKey k(s);
  OPENSSL_cleanse(s.data(), s.size());
  return k;
}

PrivateKey::PrivateKey(const std::array<std::uint8_t, 32>& secret) : secret_(secret) {
  secp256k1_pubkey pub;
  if (!secp256k1_ec_pubkey_create(ctx(), &pub, secret_.data()))
    throw std::logic_error("secp256k1_ec_pubkey_create failed on a verified key");
  address_ = address_of(pub);
}

PrivateKey::~PrivateKey() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

Signature PrivateKey::sign_digest(const Hash& digest) const {
  secp256k1_ecdsa_recoverable_signature rs;
  // nullptr nonce function = RFC 6979, as geth does; libsecp256k1 always yields low S.
  if (!secp256k1_ecdsa_sign_recoverable(ctx(), &rs, digest.data(), secret_.data(), nullptr,
                                        nullptr))
    throw std::logic_error("secp256k1_ecdsa_sign_recoverable failed");
  Signature sig{};
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx(), sig.data(), &recid, &rs);
  sig[64] = static_cast<std::uint8_t>(27 + recid);
  return sig;
}

Hash eip191_hash(ByteSpan message) {
  std::string prefix =
      "\x19"
      "Ethereum Signed Message:\n" +
      std::to_string(message.size());
  return Keccak256().update(as_bytes(prefix)).update(message).finish();
}

Result<Address> recover_digest(const Hash& digest, ByteSpan sig) {
  if (sig.size() != 65)
    return sig_error("sig_length", "signature must be 65 bytes, got " + std::to_string(sig.size()));
  const std::uint8_t v = sig[64];
  if (v != 27 && v != 28)
    return sig_error("sig_bad_v", "signature V must be 27 or 28, got " + std::to_string(v));
  const std::uint8_t* r = sig.data();
  const std::uint8_t* s = sig.data() + 32;
  auto all_zero = [](const std::uint8_t* p) {
    for (int i = 0; i < 32; ++i)
      if (p[i]) return false;
    return true;
  };
  if (all_zero(r) || all_zero(s)) return sig_error("sig_zero_rs", "signature r or s is zero");
  if (std::memcmp(s, kHalfOrder.data(), 32) > 0)
    return sig_error("sig_high_s", "signature s value too high (non-canonical)");
  secp256k1_ecdsa_recoverable_signature rs;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx(), &rs, sig.data(), v - 27))
    return sig_error("sig_overflow", "signature r or s is not below the group order");
  secp256k1_pubkey pub;
  if (!secp256k1_ecdsa_recover(ctx(), &pub, &rs, digest.data()))
    return sig_error("sig_unrecoverable", "no public key matches the signature");
  return address_of(pub);
}

Signature sign_message(const PrivateKey& key, ByteSpan message) {
  return key.sign_digest(eip191_hash(keccak256(message)));
}

Status verify_message(const Address& signer, ByteSpan message, ByteSpan sig) {
  auto rec = recover_digest(eip191_hash(keccak256(message)), sig);
  if (!rec) return rec.error();
  if (*rec != signer)
    return sig_error("sig_wrong_signer",
                     "signed by " + to_checksum(*rec) + ", expected " + to_checksum(signer));
  return ok_status();
}

std::string to_checksum(const Address& address) {
  std::string hex = to_hex(address, false);
  Hash h = keccak256(as_bytes(hex));
  for (std::size_t i = 0; i < hex.size(); ++i) {
    int nibble = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 0xf;
    if (hex[i] >= 'a' && nibble >= 8) hex[i] = static_cast<char>(hex[i] - 'a' + 'A');
  }
  return "0x" + hex;
}

Result<Address> parse_address(std::string_view text) {
  auto bad = [&](const char* code, const std::string& why) {
    return make_error(ErrorKind::invalid_input, code,
                      "address '" + std::string(text.substr(0, 60)) + "' " + why);
  };
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    return bad("bad_address", "must be 0x followed by 40 hex digits");
  auto bytes = from_hex_fixed<20>(text);
  if (!bytes) return bad("bad_address", "has a non-hex digit");
  std::string_view digits = text.substr(2);
  bool has_lower = digits.find_first_of("abcdef") != std::string_view::npos;
  bool has_upper = digits.find_first_of("ABCDEF") != std::string_view::npos;
  if (has_lower && has_upper && to_checksum(*bytes).substr(2) != digits)
    return bad("bad_checksum", "has an invalid EIP-55 checksum");
  return *bytes;
}

}  // namespace lp
