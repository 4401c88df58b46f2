// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <string>
#include <string_view>

#include "payment/common/bytes.h"
#include "payment/common/result.h"

namespace lp {

/// Unsigned 256-bit integer (Solidity uint256). Arithmetic wraps: check ranges at the edges.
using U256 = boost::multiprecision::uint256_t;
/// Arbitrary-precision integer and exact rational, for EVs and prices.
using BigInt = boost::multiprecision::cpp_int;
using Rational = boost::multiprecision::cpp_rational;

/// 2^256 - 1: the winProb that always wins (go-livepeer maxWinProb).
const U256& max_win_prob();

/// Big-endian, left-zero-padded to 32 bytes (Solidity abi.encodePacked of uint256).
Hash to_be32(const U256& v);
/// Minimal big-endian bytes, zero as empty (Go big.Int.Bytes(), protobuf integers).
Bytes to_min_be(const BigInt& v);
/// Reads big-endian bytes; fails when the value needs more than 256 bits.
Result<U256> u256_from_be(ByteSpan bytes);

/// Parses a non-negative decimal or 0x-hex string that fits in 256 bits.
Result<U256> parse_u256(std::string_view text);
std::string to_dec(const BigInt& v);
std::string to_hex_str(const U256& v);  ///< "0x..." without leading zeros ("0x0" for zero)

/// "num/den" in lowest terms, or "num" when the denominator is 1.
std::string to_string(const Rational& r);

/// True when the rational has an integral value (denominator one).
bool is_integral(const Rational& r);
/// Smallest integer >= r for r >= 0.
BigInt ceil_div(const Rational& r);

}  // namespace lp
