// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <string_view>

#include "payment/common/bytes.h"
#include "payment/common/result.h"

namespace lp {

/// A 65-byte Ethereum signature R(32) || S(32) || V(1), V = 27 or 28.
using Signature = std::array<std::uint8_t, 65>;

/// A secp256k1 private key. The bytes are wiped when the object dies.
class PrivateKey {
 public:
  /// Fails unless the 32 bytes are a valid secp256k1 secret (0 < k < n).
  static Result<PrivateKey> from_bytes(ByteSpan bytes);
  /// A fresh key from the operating system's random source.
  static PrivateKey generate();

  PrivateKey(const PrivateKey& other) = default;
  PrivateKey& operator=(const PrivateKey& other) = default;
  ~PrivateKey();

  const Address& address() const { return address_; }
  const std::array<std::uint8_t, 32>& secret() const { return secret_; }

  /// ECDSA over a 32-byte digest: RFC 6979 nonce, low S, V = 27/28 (geth's crypto.Sign + 27).
  Signature sign_digest(const Hash& digest) const;

 private:
  explicit PrivateKey(const std::array<std::uint8_t, 32>& secret);
  std::array<std::uint8_t, 32> secret_{};
  Address address_{};
};

/// EIP-191 personal-message hash: keccak256("\x19Ethereum Signed Message:\n" + len + msg).
Hash eip191_hash(ByteSpan message);

/// Recovers the signer of a digest. Rejects, each with its own error code, a length other than
/// 65 (EIP-2098 64-byte signatures included), V outside {27, 28}, r or s zero, r or s >= n,
/// s > n/2 (high S), and signatures no public key matches.
Result<Address> recover_digest(const Hash& digest, ByteSpan sig);

/// Livepeer's signature over a message: sign(EIP-191(keccak256(message))) (core Sign).
Signature sign_message(const PrivateKey& key, ByteSpan message);
/// Checks a Livepeer message signature against the expected signer.
Status verify_message(const Address& signer, ByteSpan message, ByteSpan sig);

/// EIP-55 mixed-case checksummed "0x..." form.
std::string to_checksum(const Address& address);
/// Parses "0x" + 40 hex digits; all-lower or all-upper is accepted, mixed case must be a valid
/// EIP-55 checksum.
Result<Address> parse_address(std::string_view text);

}  // namespace lp
