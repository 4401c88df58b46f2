// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "payment/common/bytes.h"
#include "payment/common/u256.h"

namespace lp::pm {

/// Credit per (counterparty address, session id), exact and possibly negative
/// (go-livepeer AddressBalances). Thread-safe.
class Balances {
 public:
  void credit(const Address& addr, const std::string& session, const Rational& amount);
  void debit(const Address& addr, const std::string& session, const Rational& amount);
  /// Zero when the pair was never seen.
  Rational balance(const Address& addr, const std::string& session) const;
  /// Takes the whole balance out (leaving zero) and returns it: the gateway reserves its
  /// existing credit while a segment is in flight.
  Rational reserve(const Address& addr, const std::string& session);
  void clear(const Address& addr, const std::string& session);
  /// The sum over every (address, session).
  Rational total() const;
  /// The sum over each address's sessions.
  std::map<Address, Rational> by_address() const;

 private:
  using Key = std::pair<Address, std::string>;
  mutable std::mutex mu_;
  std::map<Key, Rational> balances_;  // guarded by mu_
};

}  // namespace lp::pm
