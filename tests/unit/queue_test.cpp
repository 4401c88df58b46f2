// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"
#include "tests/unit/test_util.h"

namespace lp::pm {
namespace {

/// A ledger that forwards to a real local ledger but can fail redemptions retryably first and
/// counts what reaches it. Unit-test only; the kill test runs the queue on the real ledger.
class FlakyLedger final : public ledger::Ledger {
 public:
  explicit FlakyLedger(ledger::LocalLedger& real) : real_(real) {}
  int fail_next = 0;
  int redeem_calls = 0;

  Result<U256> block_number() override { return real_.block_number(); }
  Result<ledger::RoundInfo> last_initialized_round() override {
    return real_.last_initialized_round();
  }
  Result<Hash> block_hash_for_round(const U256& r) override {
    return real_.block_hash_for_round(r);
  }
  Result<ledger::SenderInfo> sender_info(const Address& a) override { return real_.sender_info(a); }
  Result<U256> claimed_reserve(const Address& s, const Address& c) override {
    return real_.claimed_reserve(s, c);
  }
  Result<U256> transcoder_pool_size() override { return real_.transcoder_pool_size(); }
  Result<bool> is_active_transcoder(const Address& a) override {
    return real_.is_active_transcoder(a);
  }
  Result<bool> is_used_ticket(const Hash& h) override { return real_.is_used_ticket(h); }
  Result<U256> gas_price() override { return real_.gas_price(); }
  Result<ledger::Redemption> redeem_winning_ticket(const Ticket& t, ByteSpan sig,
                                                   const U256& rand) override {
    ++redeem_calls;
    if (fail_next > 0) {
      --fail_next;
      return make_error(ErrorKind::retryable, "gas_spike", "gas price above the limit");
    }
    return real_.redeem_winning_ticket(t, sig, rand);
  }

 private:
  ledger::LocalLedger& real_;
};

class Queue : public ::testing::Test {
 protected:
  void SetUp() override {
    real = ledger::LocalLedger::open(dir.file("ledger.db")).value();
    ASSERT_TRUE(real->register_orchestrator(orch.address(), "https://o:8935"));
    ASSERT_TRUE(real->fund(gw.address(), 1'000'000, 1'000'000));
    flaky = std::make_unique<FlakyLedger>(*real);
    queue = TicketQueue::open(dir.file("queue.db"), *flaky).value();
  }

  WinningTicket winner(std::uint32_t nonce, const U256& face_value = 1000) {
    WinningTicket w;
    w.recipient_rand = U256(77 + nonce);
    w.ticket.recipient = orch.address();
    w.ticket.sender = gw.address();
    w.ticket.face_value = face_value;
    w.ticket.win_prob = max_win_prob();
    w.ticket.sender_nonce = nonce;
    w.ticket.recipient_rand_hash = recipient_rand_hash(w.recipient_rand);
    auto r = real->last_initialized_round().value();
    w.ticket.expiration = {r.round, r.block_hash};
    Signature s = sign_ticket(gw, w.ticket);
    w.sig.assign(s.begin(), s.end());
    w.params_expiration_block = real->block_number().value() + 40;
    return w;
  }

  test::TempDir dir;
  PrivateKey gw = PrivateKey::generate();
  PrivateKey orch = PrivateKey::generate();
  std::unique_ptr<ledger::LocalLedger> real;
  std::unique_ptr<FlakyLedger> flaky;
  std::unique_ptr<TicketQueue> queue;
};

TEST_F(Queue, Process_GivenParamsNotExpired_WaitsThenRedeemsAfterExpiry) {
  ASSERT_TRUE(queue->add_winner(winner(1)));
  EXPECT_EQ(queue->process()->redeemed, 0u);
  ASSERT_TRUE(real->advance_blocks(39));
  EXPECT_EQ(queue->process()->redeemed, 0u);
  EXPECT_EQ(flaky->redeem_calls, 0);
  ASSERT_TRUE(real->advance_blocks(1));
  auto run = queue->process();
  ASSERT_TRUE(run);
  EXPECT_EQ(run->redeemed, 1u);
  EXPECT_EQ(run->value_redeemed, U256(1000));
  EXPECT_EQ(real->account_balance(orch.address()).value(), U256(1000));
  EXPECT_EQ(queue->list("redeemed")->size(), 1u);
  EXPECT_EQ(queue->process()->redeemed, 0u);  // nothing left to do
  EXPECT_EQ(flaky->redeem_calls, 1);
}

TEST_F(Queue, AddWinner_GivenSameTicketTwice_StoresItOnce) {
  auto w = winner(1);
  ASSERT_TRUE(queue->add_winner(w));
  ASSERT_TRUE(queue->add_winner(w));
  EXPECT_EQ(queue->list()->size(), 1u);
  EXPECT_EQ(queue->pending_face_value(gw.address()).value(), U256(1000));
}

TEST_F(Queue, Process_GivenRetryableFailures_BacksOffInBlocksThenRedeems) {
  ASSERT_TRUE(queue->add_winner(winner(1)));
  ASSERT_TRUE(real->advance_blocks(40));
  flaky->fail_next = 2;
  auto r1 = queue->process();
  EXPECT_EQ(r1->retried, 1u);
  auto q = queue->list()->at(0);
  EXPECT_EQ(q.state, "pending");
  EXPECT_EQ(q.attempts, 1);
  const std::int64_t block = real->block_number()->convert_to<std::int64_t>();
  EXPECT_EQ(q.next_attempt_block, block + 2);
  EXPECT_EQ(q.last_error, "gas price above the limit");
  EXPECT_EQ(queue->process()->retried, 0u);  // not due yet
  ASSERT_TRUE(real->advance_blocks(2));
  EXPECT_EQ(queue->process()->retried, 1u);
  EXPECT_EQ(queue->list()->at(0).next_attempt_block, block + 2 + 4);  // doubled
  ASSERT_TRUE(real->advance_blocks(4));
  EXPECT_EQ(queue->process()->redeemed, 1u);
  EXPECT_EQ(flaky->redeem_calls, 3);
  EXPECT_EQ(real->account_balance(orch.address()).value(), U256(1000));
}

TEST_F(Queue, Process_GivenNonRetryableFailure_DropsWithReason) {
  auto w = winner(1);
  w.ticket.win_prob = 0;  // re-sign a losing ticket: the ledger refuses it for good
  Signature s = sign_ticket(gw, w.ticket);
  w.sig.assign(s.begin(), s.end());
  ASSERT_TRUE(queue->add_winner(w));
  ASSERT_TRUE(real->advance_blocks(40));
  auto run = queue->process();
  EXPECT_EQ(run->dropped, 1u);
  auto q = queue->list()->at(0);
  EXPECT_EQ(q.state, "dropped");
  EXPECT_EQ(q.last_error, "ticket did not win");
  EXPECT_EQ(queue->process()->dropped, 0u);
  EXPECT_EQ(queue->pending_face_value(gw.address()).value(), U256(0));
}

TEST_F(Queue,
       Process_GivenTicketLeftSubmittingAndAlreadyOnLedger_MarksRedeemedWithoutResubmitting) {
  auto w = winner(1);
  ASSERT_TRUE(queue->add_winner(w));
  ASSERT_TRUE(real->advance_blocks(40));
  // A crash after the ledger committed but before the queue did: simulate both halves.
  queue->set_observer([&](const Hash&, bool) { throw std::runtime_error("crash"); });
  EXPECT_THROW((void)queue->process(), std::runtime_error);
  queue->set_observer(nullptr);
  EXPECT_EQ(queue->list()->at(0).state, "submitting");
  EXPECT_EQ(flaky->redeem_calls, 1);
  auto run = queue->process();
  EXPECT_EQ(run->redeemed, 1u);
  EXPECT_EQ(flaky->redeem_calls, 1);  // not submitted twice
  EXPECT_EQ(queue->list()->at(0).state, "redeemed");
  EXPECT_EQ(real->account_balance(orch.address()).value(), U256(1000));
}

TEST_F(Queue, Process_GivenTicketRedeemedElsewhere_DropsAsUsed) {
  auto w = winner(1);
  ASSERT_TRUE(real->redeem_winning_ticket(w.ticket, w.sig, w.recipient_rand));
  ASSERT_TRUE(queue->add_winner(w));
  ASSERT_TRUE(real->advance_blocks(40));
  EXPECT_EQ(queue->process()->dropped, 1u);
  EXPECT_EQ(flaky->redeem_calls, 0);
  EXPECT_EQ(queue->list()->at(0).last_error, "ticket is used");
}

}  // namespace
}  // namespace lp::pm
