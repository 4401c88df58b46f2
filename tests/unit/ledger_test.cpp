// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "payment/ledger/local_ledger.h"
#include "payment/pm/winner.h"
#include "tests/unit/test_util.h"

namespace lp::ledger {
namespace {

/// A signed ticket in the ledger's current round; wins unless win_prob is lowered.
pm::WinningTicket make_ticket(LocalLedger& l, const PrivateKey& sender, const Address& recipient,
                              U256 face_value, std::uint32_t nonce,
                              U256 win_prob = max_win_prob()) {
  pm::WinningTicket w;
  w.recipient_rand = U256(1000 + nonce);
  pm::Ticket& t = w.ticket;
  t.recipient = recipient;
  t.sender = sender.address();
  t.face_value = face_value;
  t.win_prob = win_prob;
  t.sender_nonce = nonce;
  t.recipient_rand_hash = pm::recipient_rand_hash(w.recipient_rand);
  auto round = l.last_initialized_round().value();
  t.expiration.creation_round = round.round;
  t.expiration.creation_round_block_hash = round.block_hash;
  Signature s = pm::sign_ticket(sender, t);
  w.sig.assign(s.begin(), s.end());
  w.params_expiration_block = l.block_number().value() + 40;
  return w;
}

class LocalLedger_ : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger = LocalLedger::open(dir.file("l.db")).value();
    ASSERT_TRUE(ledger->register_orchestrator(o1.address(), "https://o1:8935"));
    ASSERT_TRUE(ledger->fund(gw.address(), 1000, 1000));
  }
  Result<Redemption> redeem(const pm::WinningTicket& w) {
    return ledger->redeem_winning_ticket(w.ticket, w.sig, w.recipient_rand);
  }
  test::TempDir dir;
  std::unique_ptr<LocalLedger> ledger;
  PrivateKey gw = PrivateKey::generate();
  PrivateKey o1 = PrivateKey::generate();
  PrivateKey o2 = PrivateKey::generate();
};

TEST_F(LocalLedger_, Open_GivenNewDatabase_StartsAtRoundOneWithABlockHash) {
  auto s = ledger->status().value();
  EXPECT_EQ(s.round, 1);
  EXPECT_EQ(s.block, 100);
  EXPECT_FALSE(is_zero(s.round_block_hash));
  EXPECT_EQ(ledger->block_hash_for_round(1).value(), s.round_block_hash);
  EXPECT_TRUE(is_zero(ledger->block_hash_for_round(2).value()));
}

TEST_F(LocalLedger_, AdvanceBlocks_GivenRoundBoundary_InitializesTheNewRound) {
  ASSERT_TRUE(ledger->advance_blocks(99));
  EXPECT_EQ(ledger->last_initialized_round()->round, U256(1));
  ASSERT_TRUE(ledger->advance_blocks(1));
  auto r = ledger->last_initialized_round().value();
  EXPECT_EQ(r.round, U256(2));
  EXPECT_NE(r.block_hash, ledger->block_hash_for_round(1).value());
  EXPECT_FALSE(ledger->advance_blocks(-1));
}

TEST_F(LocalLedger_, Tick_GivenTwoHandlesOnOneFile_SharesOneClock) {
  auto other = LocalLedger::open(dir.file("l.db")).value();
  EXPECT_EQ(ledger->tick(10'000, 1000).value(), 0);  // starts the clock
  EXPECT_EQ(other->tick(12'500, 1000).value(), 2);   // 2.5 s: two blocks, the half kept
  EXPECT_EQ(ledger->tick(12'500, 1000).value(), 0);  // the same moment from the other process
  EXPECT_EQ(ledger->tick(13'000, 1000).value(), 1);
  EXPECT_EQ(ledger->status()->block, 103);
  EXPECT_EQ(other->tick(13'000 + 200'000, 1000).value(), 200);  // crosses two round boundaries
  EXPECT_EQ(ledger->last_initialized_round()->round, U256(3));
  EXPECT_FALSE(ledger->tick(0, 0));
}

TEST_F(LocalLedger_, Tick_GivenResumeAfterAPause_DoesNotCountThePause) {
  EXPECT_EQ(ledger->tick(10'000, 1000).value(), 0);
  EXPECT_EQ(ledger->tick(13'000, 1000).value(), 3);
  // Every node stopped for an hour: the local chain stood still.
  EXPECT_EQ(ledger->tick(3'613'000, 1000, true).value(), 0);
  EXPECT_EQ(ledger->tick(3'615'000, 1000).value(), 2);
  // A second process joining a running clock keeps it.
  EXPECT_EQ(ledger->tick(3'617'000, 1000, true).value(), 2);
  EXPECT_EQ(ledger->status()->block, 107);
}

TEST_F(LocalLedger_, Redeem_GivenWinningTicket_PaysFaceValueFromDepositOnce) {
  auto w = make_ticket(*ledger, gw, o1.address(), 300, 1);
  auto r = redeem(w);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->from_deposit, U256(300));
  EXPECT_EQ(r->from_reserve, U256(0));
  EXPECT_EQ(ledger->sender_info(gw.address())->deposit, U256(700));
  EXPECT_EQ(ledger->account_balance(o1.address()).value(), U256(300));
  EXPECT_TRUE(ledger->is_used_ticket(w.ticket.hash()).value());
  auto again = redeem(w);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "ticket is used");
  EXPECT_EQ(ledger->account_balance(o1.address()).value(), U256(300));
  EXPECT_EQ(ledger->sender_info(gw.address())->deposit, U256(700));
}

TEST_F(LocalLedger_, Redeem_GivenContractViolations_RevertsWithTheContractsReason) {
  auto lose = make_ticket(*ledger, gw, o1.address(), 300, 1, 0);
  EXPECT_EQ(redeem(lose).error().message, "ticket did not win");
  auto w = make_ticket(*ledger, gw, o1.address(), 300, 2);
  auto wrong_rand = w;
  wrong_rand.recipient_rand += 1;
  EXPECT_EQ(redeem(wrong_rand).error().message, "recipientRand does not match recipientRandHash");
  auto forged = w;
  Signature s = pm::sign_ticket(o2, w.ticket);
  forged.sig.assign(s.begin(), s.end());
  EXPECT_EQ(redeem(forged).error().message, "invalid signature over ticket hash");
  auto unregistered = make_ticket(*ledger, gw, o2.address(), 300, 3);
  EXPECT_EQ(redeem(unregistered).error().message, "transcoder must be registered");
  auto bad_hash = make_ticket(*ledger, gw, o1.address(), 300, 4);
  bad_hash.ticket.expiration.creation_round_block_hash[5] ^= 1;
  EXPECT_EQ(redeem(bad_hash).error().message,
            "ticket creationRoundBlockHash invalid for creationRound");
  auto future = make_ticket(*ledger, gw, o1.address(), 300, 5);
  future.ticket.expiration.creation_round = 7;
  EXPECT_EQ(redeem(future).error().message, "ticket creationRound does not have a block hash");
  auto no_aux = make_ticket(*ledger, gw, o1.address(), 300, 6);
  no_aux.ticket.expiration = {};
  EXPECT_EQ(redeem(no_aux).error().message, "invalid length for ticket auxData: must be 64 bytes");
  for (const auto* t : {&lose, &wrong_rand, &forged, &unregistered, &bad_hash, &future, &no_aux})
    EXPECT_EQ(redeem(*t).error().kind, ErrorKind::fatal);
  EXPECT_EQ(ledger->account_balance(o1.address()).value(), U256(0));
  EXPECT_EQ(ledger->sender_info(gw.address())->deposit, U256(1000));
}

TEST_F(LocalLedger_, Redeem_GivenTicketOlderThanValidityPeriod_RevertsExpired) {
  auto w = make_ticket(*ledger, gw, o1.address(), 300, 1);
  ASSERT_TRUE(ledger->advance_blocks(100));
  auto w2 = w;  // one round later: still valid (creationRound + 2 > currentRound)
  ASSERT_TRUE(ledger->advance_blocks(100));
  EXPECT_EQ(redeem(w2).error().message, "ticket is expired");
}

TEST_F(LocalLedger_, Redeem_GivenUnlockedSender_Reverts) {
  auto w = make_ticket(*ledger, gw, o1.address(), 300, 1);
  ASSERT_TRUE(ledger->unlock(gw.address()));
  ASSERT_TRUE(ledger->advance_blocks(100));
  EXPECT_TRUE(ledger->sender_info(gw.address())->unlock_in_progress());
  auto w2 = make_ticket(*ledger, gw, o1.address(), 300, 2);
  ASSERT_TRUE(ledger->advance_blocks(100));  // withdrawRound reached: the sender is unlocked
  EXPECT_EQ(redeem(w2).error().message, "sender is unlocked");
}

TEST_F(LocalLedger_, Redeem_GivenFaceValueAboveDeposit_SplitsReservePerRecipientPerRound) {
  ASSERT_TRUE(ledger->register_orchestrator(o2.address(), "https://o2:8935"));
  PrivateKey poor = PrivateKey::generate();
  ASSERT_TRUE(ledger->fund(poor.address(), 100, 1000));
  // o1: 100 from the deposit, then at most its half of the reserve (500)
  auto r1 = redeem(make_ticket(*ledger, poor, o1.address(), 800, 1));
  ASSERT_TRUE(r1) << r1.error().to_string();
  EXPECT_EQ(r1->from_deposit, U256(100));
  EXPECT_EQ(r1->from_reserve, U256(500));
  // o1 again in the same round: its share is used up
  auto r2 = redeem(make_ticket(*ledger, poor, o1.address(), 800, 2));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->total(), U256(0));
  // o2 still gets its own half: (500 remaining + 500 claimed) / 2 - 0
  auto r3 = redeem(make_ticket(*ledger, poor, o2.address(), 800, 3));
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->from_reserve, U256(500));
  EXPECT_EQ(ledger->sender_info(poor.address())->reserve, U256(0));
  EXPECT_EQ(ledger->account_balance(o1.address()).value(), U256(600));
  EXPECT_EQ(ledger->account_balance(o2.address()).value(), U256(500));
}

TEST_F(LocalLedger_, Redeem_GivenInactiveRecipient_ClaimsNothingFromReserve) {
  PrivateKey idle = PrivateKey::generate();
  ASSERT_TRUE(ledger->register_orchestrator(idle.address(), "https://idle:8935", false));
  auto r = redeem(make_ticket(*ledger, gw, idle.address(), 1500, 1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from_deposit, U256(1000));
  EXPECT_EQ(r->from_reserve, U256(0));
}

TEST_F(LocalLedger_, UnlockWithdraw_GivenUnlockPeriod_PaysOutOnlyAfterIt) {
  EXPECT_EQ(ledger->withdraw(gw.address()).error().message, "account is locked");
  ASSERT_TRUE(ledger->unlock(gw.address()));
  EXPECT_EQ(ledger->unlock(gw.address()).error().message, "unlock already initiated");
  ASSERT_TRUE(ledger->advance_blocks(100));
  EXPECT_EQ(ledger->withdraw(gw.address()).error().message, "account is locked");
  ASSERT_TRUE(ledger->advance_blocks(100));
  EXPECT_EQ(ledger->withdraw(gw.address()).value(), U256(2000));
  EXPECT_EQ(ledger->account_balance(gw.address()).value(), U256(2000));
  auto info = ledger->sender_info(gw.address()).value();
  EXPECT_EQ(info.deposit, U256(0));
  EXPECT_EQ(info.reserve, U256(0));
  EXPECT_FALSE(info.unlock_in_progress());
}

TEST_F(LocalLedger_, Fund_GivenUnlockInProgress_CancelsIt) {
  ASSERT_TRUE(ledger->unlock(gw.address()));
  ASSERT_TRUE(ledger->fund(gw.address(), 1, 0));
  EXPECT_FALSE(ledger->sender_info(gw.address())->unlock_in_progress());
  EXPECT_EQ(ledger->cancel_unlock(gw.address()).error().message, "no unlock request in progress");
}

TEST_F(LocalLedger_, Reopen_GivenCommittedState_KeepsEverything) {
  auto w = make_ticket(*ledger, gw, o1.address(), 300, 1);
  ASSERT_TRUE(redeem(w));
  ASSERT_TRUE(ledger->advance_blocks(250));
  ledger.reset();
  ledger = LocalLedger::open(dir.file("l.db"), LocalLedgerConfig{.round_length = 7}).value();
  EXPECT_EQ(ledger->status()->config.round_length, 100);  // a database keeps its parameters
  EXPECT_EQ(ledger->block_number().value(), U256(350));
  EXPECT_TRUE(ledger->is_used_ticket(w.ticket.hash()).value());
  EXPECT_EQ(ledger->account_balance(o1.address()).value(), U256(300));
  EXPECT_EQ(ledger->transcoder_pool_size().value(), U256(1));
}

TEST_F(LocalLedger_, Open_GivenUnwritablePath_FailsWithStorageError) {
  auto r = LocalLedger::open("/nonexistent-dir/x.db");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "storage");
}

}  // namespace
}  // namespace lp::ledger
