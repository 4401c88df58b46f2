// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/pm/balances.h"

namespace lp::pm {

void Balances::credit(const Address& addr, const std::string& session, const Rational& amount) {
  std::lock_guard lock(mu_);
  balances_[{addr, session}] += amount;
}

void Balances::debit(const Address& addr, const std::string& session, const Rational& amount) {
  std::lock_guard lock(mu_);
  balances_[{addr, session}] -= amount;
}

Rational Balances::balance(const Address& addr, const std::string& session) const {
  std::lock_guard lock(mu_);
  auto it = balances_.find({addr, session});
  return it == balances_.end() ? Rational(0) : it->second;
}

Rational Balances::reserve(const Address& addr, const std::string& session) {
  std::lock_guard lock(mu_);
  auto it = balances_.find({addr, session});
  if (it == balances_.end()) return 0;
  Rational v = it->second;
  it->second = 0;
  return v;
}

void Balances::clear(const Address& addr, const std::string& session) {
  std::lock_guard lock(mu_);
  balances_.erase({addr, session});
}

Rational Balances::total() const {
  std::lock_guard lock(mu_);
  Rational sum = 0;
  for (const auto& [key, amount] : balances_) sum += amount;
  return sum;
}

std::map<Address, Rational> Balances::by_address() const {
  std::lock_guard lock(mu_);
  std::map<Address, Rational> out;
  for (const auto& [key, amount] : balances_) out[key.first] += amount;
  return out;
}

}  // namespace lp::pm
