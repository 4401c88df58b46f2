// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/eth/keccak.h"

#include <cryptopp/keccak.h>

namespace lp {

struct Keccak256::Impl {
  CryptoPP::Keccak_256 h;
};

Keccak256::Keccak256() : impl_(std::make_unique<Impl>()) {}
Keccak256::~Keccak256() = default;

Keccak256& Keccak256::update(ByteSpan data) {
  impl_->h.Update(data.data(), data.size());
  return *this;
}

Hash Keccak256::finish() {
  Hash out{};
  impl_->h.Final(out.data());
  return out;
}

Hash keccak256(ByteSpan data) {
  CryptoPP::Keccak_256 h;
  Hash out{};
  h.CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

}  // namespace lp
