// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lp {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;
/// A 32-byte hash (Keccak-256 output, block hash, recipientRandHash).
using Hash = std::array<std::uint8_t, 32>;
/// A 20-byte Ethereum address.
using Address = std::array<std::uint8_t, 20>;

/// Lower-case hex of the bytes, with a "0x" prefix when prefixed is true.
std::string to_hex(ByteSpan bytes, bool prefixed = true);

/// Decodes hex with or without "0x"; nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);

/// Decodes hex into exactly N bytes; nullopt when the length differs.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> from_hex_fixed(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

template <std::size_t N>
bool is_zero(const std::array<std::uint8_t, N>& a) {
  for (auto b : a)
    if (b != 0) return false;
  return true;
}

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace lp
