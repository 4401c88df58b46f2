// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "payment/ledger/local_ledger.h"
#include "payment/pm/recipient.h"
#include "payment/pm/sender.h"
#include "payment/pm/ticket_queue.h"
#include "tests/unit/test_util.h"

namespace lp::test {

inline const U256 kEther = U256(1'000'000'000'000'000'000ull);

/// A gateway and an orchestrator on a real local ledger (SQLite in a temp dir) with a real
/// persistent queue: the payment loop as a node runs it.
class PaymentWorld : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger = ledger::LocalLedger::open(dir.file("ledger.db")).value();
    queue = pm::TicketQueue::open(dir.file("ledger.db"), *ledger).value();
    ASSERT_TRUE(ledger->register_orchestrator(orch.address(), "https://127.0.0.1:8935"));
    ASSERT_TRUE(ledger->fund(gw.address(), kEther, kEther));
    recipient =
        std::make_unique<pm::Recipient>(orch.address(), *ledger, *queue, recipient_config());
    sender = std::make_unique<pm::Sender>(gw, *ledger, sender_config());
  }

  virtual pm::RecipientConfig recipient_config() {
    pm::RecipientConfig c;
    c.ticket_ev = 1'000'000'000'000;  // 1e12 wei
    return c;
  }

  /// Generous gateway limits, so that recipient tests reach the recipient; sender tests set their
  /// own.
  virtual pm::SenderConfig sender_config() {
    pm::SenderConfig c;
    c.max_ticket_ev = U256(1'000'000'000'000'000);
    c.max_total_ev = kEther;
    return c;
  }

  /// Params from the recipient, a session at the sender and a signed batch of n tickets.
  pm::TicketBatch batch(std::size_t n, pm::PriceInfo price = {1000, 1}) {
    auto params = recipient->ticket_params(gw.address(), price);
    EXPECT_TRUE(params) << params.error().to_string();
    std::string id = sender->start_session(*params, price);
    auto b = sender->create_ticket_batch(id, n);
    EXPECT_TRUE(b) << b.error().to_string();
    return *b;
  }

  /// Re-signs ticket i of the batch after a change made to its fields by `edit`.
  template <class F>
  static void resign(pm::TicketBatch& b, std::size_t i, const PrivateKey& key, F&& edit) {
    pm::Ticket t = b.ticket(i);
    edit(t);
    Signature s = pm::sign_ticket(key, t);
    b.tickets[i].sig.assign(s.begin(), s.end());
  }

  TempDir dir;
  PrivateKey gw = PrivateKey::generate();
  PrivateKey orch = PrivateKey::generate();
  std::unique_ptr<ledger::LocalLedger> ledger;
  std::unique_ptr<pm::TicketQueue> queue;
  std::unique_ptr<pm::Recipient> recipient;
  std::unique_ptr<pm::Sender> sender;
};

}  // namespace lp::test
