// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>

#include "payment/common/bytes.h"

namespace lp {

/// Ethereum's Keccak-256 (original Keccak padding 0x01, not SHA3-256), from Crypto++.
Hash keccak256(ByteSpan data);

/// Incremental Keccak-256 for hashing several parts without concatenating them.
class Keccak256 {
 public:
  Keccak256();
  ~Keccak256();
  Keccak256(const Keccak256&) = delete;
  Keccak256& operator=(const Keccak256&) = delete;

  Keccak256& update(ByteSpan data);
  Hash finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp
