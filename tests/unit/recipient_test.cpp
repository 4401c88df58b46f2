// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tests/unit/payment_world.h"

namespace lp::pm {
namespace {

using test::kEther;

class Recipient_ : public test::PaymentWorld {};

TEST_F(Recipient_, TicketParams_GivenFundedSender_FollowGoLivepeerRules) {
  auto p = recipient->ticket_params(gw.address(), {1000, 1});
  ASSERT_TRUE(p) << p.error().to_string();
  // txCost = 1.2M gas * 0.01 gwei; faceValue = 100 x txCost (above 100 x EV? no: 1.2e15 > 1e12)
  EXPECT_EQ(p->face_value, U256(1'200'000) * U256(10'000'000) * 100);
  EXPECT_EQ(p->win_prob, win_prob_for(p->face_value, recipient->config().ticket_ev));
  EXPECT_GE(p->expected_value(), Rational(1'000'000'000'000));
  EXPECT_LT(p->expected_value(), Rational(1'000'000'000'001));
  EXPECT_EQ(p->expiration_block, ledger->block_number().value() + 40);
  EXPECT_EQ(p->expiration.creation_round, ledger->last_initialized_round()->round);
  EXPECT_EQ(p->recipient, orch.address());
  auto q = recipient->ticket_params(gw.address(), {1000, 1});
  EXPECT_NE(p->recipient_rand_hash, q->recipient_rand_hash);  // a fresh seed each time
}

TEST_F(Recipient_, TicketParams_GivenZeroPrice_AskForNoPayment) {
  auto p = recipient->ticket_params(gw.address(), {0, 1});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->face_value, U256(0));
  EXPECT_EQ(p->win_prob, U256(0));
}

TEST_F(Recipient_, TicketParams_GivenSenderWithoutReserve_RefusesWithInsufficientReserve) {
  PrivateKey poor = PrivateKey::generate();
  ASSERT_TRUE(ledger->fund(poor.address(), kEther, 0));
  auto p = recipient->ticket_params(poor.address(), {1000, 1});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "insufficient_sender_reserve");
}

TEST_F(Recipient_, TicketParams_GivenBadPrice_Refuses) {
  EXPECT_EQ(recipient->ticket_params(gw.address(), {1, 0}).error().code, "bad_price");
  EXPECT_EQ(recipient->ticket_params(gw.address(), {-1, 1}).error().code, "bad_price");
}

TEST_F(Recipient_, ReceivePayment_GivenValidBatch_CreditsExactEvOfEveryTicket) {
  TicketBatch b = batch(5);
  PaymentOutcome out = recipient->receive_payment(b, "sess1");
  ASSERT_FALSE(out.error) << out.error->to_string();
  EXPECT_EQ(out.accepted, 5u);
  EXPECT_EQ(out.credited, b.params.expected_value() * 5);
  EXPECT_EQ(recipient->balances().balance(gw.address(), "sess1"), b.params.expected_value() * 5);
  EXPECT_EQ(recipient->balances().balance(gw.address(), "other"), Rational(0));
}

TEST_F(Recipient_, ReceivePayment_GivenReplayedBatch_RejectsAndEarnsNoCredit) {
  TicketBatch b = batch(3);
  ASSERT_FALSE(recipient->receive_payment(b, "s").error);
  const Rational before = recipient->balances().balance(gw.address(), "s");
  PaymentOutcome again = recipient->receive_payment(b, "s");
  ASSERT_TRUE(again.error);
  EXPECT_EQ(again.error->code, "nonce_replayed");
  EXPECT_EQ(again.accepted, 0u);
  EXPECT_EQ(recipient->balances().balance(gw.address(), "s"), before);
}

TEST_F(Recipient_, ReceivePayment_GivenOutOfOrderNonces_AcceptsAll) {
  TicketBatch b = batch(3);
  std::swap(b.tickets[0], b.tickets[2]);
  PaymentOutcome out = recipient->receive_payment(b, "s");
  EXPECT_FALSE(out.error);
  EXPECT_EQ(out.accepted, 3u);
}

TEST_F(Recipient_, ReceivePayment_GivenMoreThan600Nonces_RefusesTheRest) {
  // Our sender signs at most 600 per payment (Sender::kMaxTicketsPerPayment); a hostile one
  // may send more: one more ticket of the same params, with the next nonce, joins the batch.
  TicketBatch b = batch(600);
  TicketBatch extra = b;
  extra.tickets = {{601, {}}};
  resign(extra, 0, gw, [](Ticket&) {});
  b.tickets.push_back(extra.tickets[0]);
  PaymentOutcome out = recipient->receive_payment(b, "s");
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "nonce_too_many");
  EXPECT_EQ(out.accepted, 600u);
}

TEST_F(Recipient_, ReceiveTicket_GivenTicketForAnotherRecipient_RejectsFatally) {
  TicketBatch b = batch(1);
  PrivateKey other = PrivateKey::generate();
  ASSERT_TRUE(ledger->register_orchestrator(other.address(), "https://127.0.0.1:9999"));
  Recipient r2(other.address(), *ledger, *queue, recipient_config());
  PaymentOutcome out = r2.receive_payment(b, "s");
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "invalid_recipient");
  EXPECT_EQ(out.error->kind, ErrorKind::fatal);
}

TEST_F(Recipient_, ReceiveTicket_GivenForgedSignature_RejectsAndKeepsNonceFree) {
  TicketBatch b = batch(1);
  PrivateKey mallory = PrivateKey::generate();
  TicketBatch forged = b;
  resign(forged, 0, mallory, [](Ticket&) {});
  PaymentOutcome out = recipient->receive_payment(forged, "s");
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "invalid_signature");
  EXPECT_EQ(out.accepted, 0u);
  // the forgery did not burn the honest ticket's nonce
  EXPECT_FALSE(recipient->receive_payment(b, "s").error);
}

TEST_F(Recipient_, ReceiveTicket_GivenNonCanonicalSignatureForms_Rejects) {
  TicketBatch b = batch(1);
  TicketBatch compact = b;
  compact.tickets[0].sig.resize(64);
  EXPECT_EQ(recipient->receive_payment(compact, "s").error->code, "invalid_signature");
  TicketBatch badv = b;
  badv.tickets[0].sig[64] = 1;
  EXPECT_EQ(recipient->receive_payment(badv, "s").error->code, "invalid_signature");
}

TEST_F(Recipient_, ReceiveTicket_GivenEchoedFieldsChanged_RejectsRecipientRand) {
  TicketBatch b = batch(1);
  // The sender signs honestly, but with a face value other than the recipient offered.
  b.params.face_value += 1;
  resign(b, 0, gw, [](Ticket&) {});
  PaymentOutcome out = recipient->receive_payment(b, "s");
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "invalid_recipient_rand");
  // Same for a price other than the one the params were made for.
  TicketBatch p = batch(1);
  p.expected_price = {2000, 1};
  EXPECT_EQ(recipient->receive_payment(p, "s").error->code, "invalid_recipient_rand");
  TicketBatch s = batch(1);
  s.params.seed += 1;
  EXPECT_EQ(recipient->receive_payment(s, "s").error->code, "invalid_recipient_rand");
}

TEST_F(Recipient_, ReceiveTicket_GivenExpiredParams_RejectsWithoutCredit) {
  TicketBatch b = batch(2);
  ASSERT_TRUE(ledger->advance_blocks(40));
  PaymentOutcome out = recipient->receive_payment(b, "s");
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "ticket_params_expired");
  EXPECT_EQ(out.accepted, 0u);
  EXPECT_EQ(recipient->balances().balance(gw.address(), "s"), Rational(0));
}

TEST_F(Recipient_, ReceiveTicket_GivenExpiredCreationRound_Rejects) {
  TicketBatch b = batch(1);
  ASSERT_TRUE(ledger->advance_blocks(std::int64_t{2} * 100));
  EXPECT_EQ(recipient->receive_payment(b, "s").error->code, "invalid_creation_round");
}

TEST_F(Recipient_, ReceiveTicket_GivenWrongCreationRoundBlockHash_Rejects) {
  TicketBatch b = batch(1);
  b.params.expiration.creation_round_block_hash[0] ^= 1;
  resign(b, 0, gw, [](Ticket&) {});
  EXPECT_EQ(recipient->receive_payment(b, "s").error->code, "invalid_creation_round_block_hash");
}

TEST_F(Recipient_, ReceiveTicket_GivenUnlockingSender_RejectsFatally) {
  TicketBatch b = batch(1);
  ASSERT_TRUE(ledger->unlock(gw.address()));
  ASSERT_TRUE(ledger->advance_blocks(100));  // the unlock completes at the next round
  auto out = recipient->receive_payment(b, "s");
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "sender_unlocking");
}

class RecipientHighWin : public test::PaymentWorld {
  RecipientConfig recipient_config() override {
    RecipientConfig c;
    c.ticket_ev = 600'000'000'000'000;  // half the face value: about one ticket in two wins
    return c;
  }
};

TEST_F(RecipientHighWin, ReceivePayment_GivenWinners_QueuesEachExactlyOnce) {
  TicketBatch b = batch(20);
  PaymentOutcome out = recipient->receive_payment(b, "s");
  ASSERT_FALSE(out.error);
  EXPECT_GT(out.winners, 0u);
  EXPECT_LT(out.winners, 20u);
  auto pending = queue->list("pending");
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->size(), out.winners);
  for (const auto& q : *pending) {
    EXPECT_TRUE(is_winning(q.winner.sig, q.winner.recipient_rand, q.winner.ticket.win_prob));
    EXPECT_EQ(q.winner.params_expiration_block, b.params.expiration_block);
  }
  EXPECT_EQ(queue->pending_face_value(gw.address()).value(),
            b.params.face_value * U256(out.winners));
}

}  // namespace
}  // namespace lp::pm
