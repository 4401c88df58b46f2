// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/common/u256.h"

#include <iterator>

namespace lp {

namespace mp = boost::multiprecision;

const U256& max_win_prob() {
  static const U256 v = ~U256(0);
  return v;
}

Hash to_be32(const U256& v) {
  Hash out{};
  Bytes min = to_min_be(BigInt(v));
  std::copy(min.begin(), min.end(), out.end() - static_cast<std::ptrdiff_t>(min.size()));
  return out;
}

Bytes to_min_be(const BigInt& v) {
  Bytes out;
  if (v <= 0) return out;
  mp::export_bits(v, std::back_inserter(out), 8, true);
  return out;
}

Result<U256> u256_from_be(ByteSpan bytes) {
  std::size_t skip = 0;
  while (skip < bytes.size() && bytes[skip] == 0) ++skip;
  if (bytes.size() - skip > 32)
    return make_error(ErrorKind::invalid_input, "int_overflow", "integer does not fit in 256 bits");
  U256 v = 0;
  if (skip < bytes.size())
    mp::import_bits(v, bytes.begin() + static_cast<std::ptrdiff_t>(skip), bytes.end(), 8, true);
  return v;
}

Result<U256> parse_u256(std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(ErrorKind::invalid_input, "bad_integer",
                      std::string("'") + std::string(text.substr(0, 80)) + "' " + why);
  };
  if (text.empty()) return bad("is empty");
  BigInt v = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::string_view digits = text.substr(2);
    if (digits.size() > 64) {
      auto first = digits.find_first_not_of('0');
      if (first == std::string_view::npos) return U256(0);
      digits.remove_prefix(first);
      if (digits.size() > 64) return bad("does not fit in 256 bits");
    }
    for (char c : digits) {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return bad("is not a hex number");
      v = (v << 4) | d;
    }
  } else {
    if (text.size() > 78) return bad("does not fit in 256 bits");
    for (char c : text) {
      if (c < '0' || c > '9') return bad("is not a decimal number (use 0x for hex)");
      v = v * 10 + (c - '0');
    }
  }
  if (v > BigInt(max_win_prob())) return bad("does not fit in 256 bits");
  return U256(v);
}

std::string to_dec(const BigInt& v) { return v.str(); }

std::string to_hex_str(const U256& v) {
  if (v == 0) return "0x0";
  return to_hex(to_min_be(BigInt(v)));
}

std::string to_string(const Rational& r) {
  const BigInt num = mp::numerator(r);
  const BigInt den = mp::denominator(r);
  if (den == 1) return num.str();
  return num.str() + "/" + den.str();
}

bool is_integral(const Rational& r) { return mp::denominator(r) == 1; }

BigInt ceil_div(const Rational& r) {
  const BigInt num = mp::numerator(r);
  const BigInt den = mp::denominator(r);
  BigInt q = num / den;
  if (q * den < num) q += 1;
  return q;
}

}  // namespace lp
