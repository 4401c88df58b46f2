// SPDX-License-Identifier: LGPL-2.1-or-later
#include <limits>

#include "tests/unit/payment_world.h"

namespace lp::pm {
namespace {

using test::kEther;

class Sender_ : public test::PaymentWorld {
 protected:
  SenderConfig sender_config() override { return {}; }  // go-livepeer's defaults
  TicketParams params() {
    auto p = recipient->ticket_params(gw.address(), {1000, 1});
    EXPECT_TRUE(p);
    return *p;
  }
};

TEST_F(Sender_, CreateTicketBatch_GivenNewSession_NumbersNoncesFromOne) {
  TicketParams p = params();
  std::string id = sender->start_session(p, {1000, 1});
  EXPECT_EQ(id, to_hex(p.recipient_rand_hash, false));
  auto b1 = sender->create_ticket_batch(id, 3);
  auto b2 = sender->create_ticket_batch(id, 2);
  ASSERT_TRUE(b1);
  ASSERT_TRUE(b2);
  EXPECT_EQ(b1->tickets[0].sender_nonce, 1u);
  EXPECT_EQ(b1->tickets[2].sender_nonce, 3u);
  EXPECT_EQ(b2->tickets[0].sender_nonce, 4u);
  EXPECT_EQ(b1->expected_price, (PriceInfo{1000, 1}));
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(recover_ticket_signer(b1->ticket(i).hash(), b1->tickets[i].sig).value(),
              gw.address());
  // A new params set is a new nonce space.
  std::string id2 = sender->start_session(params(), {1000, 1});
  EXPECT_EQ(sender->create_ticket_batch(id2, 1)->tickets[0].sender_nonce, 1u);
}

TEST_F(Sender_, CreateTicketBatch_GivenUnknownSession_Fails) {
  EXPECT_EQ(sender->create_ticket_batch("nope", 1).error().code, "unknown_session");
}

TEST_F(Sender_, TicketsForFee_GivenCreditAndEv_RoundsUp) {
  EXPECT_EQ(Sender::tickets_for_fee(100, 0, 30), 4u);
  EXPECT_EQ(Sender::tickets_for_fee(90, 0, 30), 3u);
  EXPECT_EQ(Sender::tickets_for_fee(100, 40, 30), 2u);
  EXPECT_EQ(Sender::tickets_for_fee(100, 100, 30), 0u);
  EXPECT_EQ(Sender::tickets_for_fee(100, 150, 30), 0u);
  EXPECT_EQ(Sender::tickets_for_fee(Rational(1, 3), Rational(0), Rational(1, 7)), 3u);
  // A count past size_t saturates instead of wrapping.
  EXPECT_EQ(Sender::tickets_for_fee(Rational(BigInt(1) << 80), 0, 1),
            std::numeric_limits<std::size_t>::max());
}

TEST_F(Sender_, Validate_GivenMoreTicketsThanAnOrchestratorAccepts_RefusesTooManyTickets) {
  // A tiny EV (1 wei) fits any total-EV limit, but 601 tickets for one payment are more than
  // go-livepeer's orchestrator credits per params.
  TicketParams p = params();
  p.win_prob = 1;
  ASSERT_LE(p.expected_value(), 1);
  EXPECT_TRUE(sender->validate_ticket_params(p, Sender::kMaxTicketsPerPayment));
  const auto st = sender->validate_ticket_params(p, Sender::kMaxTicketsPerPayment + 1);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "too_many_tickets");
  EXPECT_EQ(st.error().kind, ErrorKind::forbidden);
}

TEST_F(Sender_, Validate_GivenGoodParams_Accepts) {
  EXPECT_TRUE(sender->validate_ticket_params(params(), 1));
}

TEST_F(Sender_, Validate_GivenParamsAboutToExpire_RefusesAsExpired) {
  TicketParams p = params();
  ASSERT_TRUE(ledger->advance_blocks(39));  // one block left: within the expiry buffer
  EXPECT_EQ(sender->validate_ticket_params(p, 1).error().code, "ticket_params_expired");
  p.expiration_block = 0;
  EXPECT_EQ(sender->validate_ticket_params(p, 1).error().code, "ticket_params_expired");
}

TEST_F(Sender_, Validate_GivenEvAboveLimits_Refuses) {
  TicketParams p = params();
  p.win_prob = max_win_prob();  // EV = faceValue = 1.2e15 > 3e12
  EXPECT_EQ(sender->validate_ticket_params(p, 1).error().code, "ticket_ev_too_high");
  // EV is 1e12 plus a fraction of a wei (winProb rounds up), so 19 fit in 2e13 and 20 do not.
  TicketParams q = params();
  EXPECT_GT(q.expected_value(), Rational(1'000'000'000'000));
  EXPECT_TRUE(sender->validate_ticket_params(q, 19));
  EXPECT_EQ(sender->validate_ticket_params(q, 20).error().code, "total_ev_too_high");
}

TEST_F(Sender_, Validate_GivenFaceValueAboveDeposit_Refuses) {
  TicketParams p = params();
  p.face_value = kEther + 1;
  p.win_prob = 1;
  EXPECT_EQ(sender->validate_ticket_params(p, 1).error().code, "face_value_too_high");
}

TEST_F(Sender_, Validate_GivenUnlockingOrUnfundedSender_Refuses) {
  ASSERT_TRUE(ledger->unlock(gw.address()));  // withdrawable two rounds from now
  EXPECT_TRUE(sender->validate_ticket_params(params(), 1));
  ASSERT_TRUE(ledger->advance_blocks(100));  // now it unlocks at the next round: too soon
  TicketParams p = params();
  EXPECT_EQ(sender->validate_ticket_params(p, 1).error().code, "sender_unlocking");
  PrivateKey fresh = PrivateKey::generate();
  Sender s2(fresh, *ledger);
  EXPECT_EQ(s2.validate_ticket_params(p, 1).error().code, "no_reserve");
  ASSERT_TRUE(ledger->fund(fresh.address(), 0, kEther));
  EXPECT_EQ(s2.validate_ticket_params(p, 1).error().code, "no_deposit");
}

}  // namespace
}  // namespace lp::pm
