// SPDX-License-Identifier: LGPL-2.1-or-later
// Remote bytes as digest(32) || signature(rest) -> recover: never crashes; a recovered
// signature is always the canonical 65-byte, low-S, V 27/28 form.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "payment/eth/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 32) return 0;
  lp::Hash digest{};
  std::memcpy(digest.data(), data, 32);
  lp::ByteSpan sig(data + 32, size - 32);
  auto r = lp::recover_digest(digest, sig);
  if (r && (sig.size() != 65 || (sig[64] != 27 && sig[64] != 28) || sig[32] > 0x7f)) std::abort();
  return 0;
}
