// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's Wallet alone: real keys, the real payment library (Sender, Recipient, a SQLite
// local ledger), exact books to the wei. pay() reserves a session's credit and adds tickets until
// credit covers max(fee, ticket EV); settle() completes the balance update as go-livepeer's
// completeBalanceUpdate does (reference/livepeer-protocol.md §1.13).
#include "elements/gateway/wallet.h"

#include <set>
#include <thread>

#include "payment/eth/signature.h"
#include "tests/unit/payment_world.h"

namespace lp::gw {
namespace {

class Wallet_ : public test::PaymentWorld {
 protected:
  void SetUp() override {
    PaymentWorld::SetUp();
    wallet = make_wallet();
    params = recipient->ticket_params(gw.address(), price).value();
    ev = params.expected_value();
  }

  /// A wallet on the fixture's ledger, which outlives it (the wallet is destroyed first).
  std::unique_ptr<Wallet> make_wallet(WalletConfig config = default_config()) {
    std::shared_ptr<ledger::ChainReader> chain(ledger.get(), [](ledger::ChainReader*) {});
    return std::make_unique<Wallet>(gw, std::move(chain), std::move(config));
  }

  static WalletConfig default_config() {
    WalletConfig c;
    c.sender.max_ticket_ev = U256(1'000'000'000'000'000);  // 1e15
    c.sender.max_total_ev = U256(10'000'000'000'000'000);  // 1e16
    return c;
  }

  /// Pays session `session` of the fixture's orchestrator and expects it to succeed.
  PaymentGrant pay(const Rational& fee, const std::string& session = "s1") {
    auto g = wallet->pay(orch.address(), session, params, price, fee);
    EXPECT_TRUE(g) << g.error().to_string();
    return g ? *g : PaymentGrant{};
  }

  /// The tickets of a grant as the orchestrator receives them: every one valid, credit = EV.
  void expect_accepted(const PaymentGrant& g, const std::string& session) {
    const pm::PaymentOutcome out = recipient->receive_payment(g.batch, session);
    EXPECT_FALSE(out.error) << out.error->to_string();
    EXPECT_EQ(out.accepted, g.batch.tickets.size());
    EXPECT_EQ(out.credited, g.new_credit);
  }

  const pm::PriceInfo price{1000, 1};
  pm::TicketParams params;
  Rational ev;
  std::unique_ptr<Wallet> wallet;
};

TEST_F(Wallet_, Pay_GivenNoCredit_SignsCeilOfFeeOverEvTicketsTheOrchestratorAccepts) {
  // EV is 1e12 plus a fraction of a wei (winProb rounds up): 2.5 EV needs 3 tickets.
  ASSERT_GT(ev, Rational(1'000'000'000'000));
  ASSERT_LT(ev, Rational(1'000'000'000'001));
  const PaymentGrant g = pay(ev * 5 / 2);
  EXPECT_EQ(g.id, 1u);
  ASSERT_EQ(g.batch.tickets.size(), 3u);
  EXPECT_EQ(g.new_credit, ev * 3);
  EXPECT_EQ(g.batch.sender, gw.address());
  EXPECT_EQ(g.batch.params.recipient, orch.address());
  EXPECT_EQ(g.batch.expected_price, price);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(g.batch.tickets[i].sender_nonce, i + 1);
    EXPECT_EQ(pm::recover_ticket_signer(g.batch.ticket(i).hash(), g.batch.tickets[i].sig).value(),
              gw.address());
  }
  // The reserved credit is out of the balance while the request is in flight.
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), 0);
  expect_accepted(g, "s1");
}

TEST_F(Wallet_, Pay_GivenFeeBelowOneTicketsEv_SendsOneTicket) {
  const PaymentGrant g = pay(1);
  EXPECT_EQ(g.batch.tickets.size(), 1u);
  EXPECT_EQ(g.new_credit, ev);
}

TEST_F(Wallet_, Pay_GivenFeeOfExactlyTwoEvs_SendsTwoTickets) {
  EXPECT_EQ(pay(ev * 2).batch.tickets.size(), 2u);
  EXPECT_EQ(pay(ev * 2 + Rational(1, 1000), "s2").batch.tickets.size(), 3u);
}

TEST_F(Wallet_, Settle_GivenResult_KeepsCreditPlusNewCreditMinusDebit) {
  const PaymentGrant g = pay(ev * 5 / 2);
  const Rational debit = Rational(2'100'000'000'000) + Rational(1, 3);
  wallet->settle(g.id, SettleOutcome::result, debit);
  const Rational left = ev * 3 - debit;
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), left);
  EXPECT_EQ(wallet->total_balance(), left);
  EXPECT_EQ(wallet->balance_by_orchestrator().at(orch.address()), left);

  // The next segment reserves that credit and tops it up: min credit 2 EV, ceil((2 EV - left) /
  // EV) tickets; the result's debit comes out of existing + new.
  const Rational fee = ev * 2;
  const PaymentGrant g2 = pay(fee);
  const auto n = static_cast<std::size_t>(ceil_div((fee - left) / ev));
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(g2.batch.tickets.size(), n);
  EXPECT_EQ(g2.new_credit, ev * 2);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), 0);
  wallet->settle(g2.id, SettleOutcome::result, fee);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), left + ev * 2 - fee);

  const WalletTotals t = wallet->totals();
  EXPECT_EQ(t.payments, 2u);
  EXPECT_EQ(t.tickets_sent, 5u);
  EXPECT_EQ(t.ev_sent, ev * 5);
  EXPECT_EQ(t.debited, debit + fee);
  ASSERT_EQ(t.by_orchestrator.size(), 1u);
  EXPECT_EQ(t.by_orchestrator.at(orch.address()).tickets_sent, 5u);
  EXPECT_EQ(t.by_orchestrator.at(orch.address()).ev_sent, ev * 5);
  EXPECT_EQ(t.by_orchestrator.at(orch.address()).debited, debit + fee);
}

TEST_F(Wallet_, Pay_GivenCreditCoveringTheFee_SendsNoTicketsAndReservesTheCredit) {
  const PaymentGrant g = pay(ev * 4);
  wallet->settle(g.id, SettleOutcome::result, ev);  // 3 EV left
  const PaymentGrant g2 = pay(ev * 2);
  EXPECT_NE(g2.id, g.id);
  EXPECT_TRUE(g2.batch.tickets.empty());
  EXPECT_EQ(g2.new_credit, 0);
  EXPECT_EQ(g2.batch.sender, gw.address());
  EXPECT_EQ(g2.batch.params.recipient_rand_hash, params.recipient_rand_hash);
  EXPECT_EQ(g2.batch.expected_price, price);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), 0);
  wallet->settle(g2.id, SettleOutcome::result, ev * 2);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev);
  // A payment without tickets still counts as a payment, with nothing sent.
  EXPECT_EQ(wallet->totals().payments, 2u);
  EXPECT_EQ(wallet->totals().tickets_sent, 4u);
}

TEST_F(Wallet_, Settle_GivenNotSent_RestoresTheReservedCreditOnly) {
  const PaymentGrant g = pay(ev * 2);
  wallet->settle(g.id, SettleOutcome::result, ev / 2);  // 1.5 EV left
  const PaymentGrant g2 = pay(ev * 3);                  // 1.5 EV reserved, 2 tickets
  EXPECT_EQ(g2.batch.tickets.size(), 2u);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), 0);
  wallet->settle(g2.id, SettleOutcome::not_sent);
  // The request never left: the existing credit comes back, the unsent tickets add nothing.
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev * 3 / 2);
  const WalletTotals t = wallet->totals();
  EXPECT_EQ(t.payments, 1u);
  EXPECT_EQ(t.tickets_sent, 2u);
  EXPECT_EQ(t.ev_sent, ev * 2);
  EXPECT_EQ(t.debited, ev / 2);
}

TEST_F(Wallet_, Settle_GivenSentWithoutResult_SpendsExistingAndNewCredit) {
  const PaymentGrant g = pay(ev * 2);
  wallet->settle(g.id, SettleOutcome::result, ev / 2);  // 1.5 EV left
  const PaymentGrant g2 = pay(ev * 3);
  wallet->settle(g2.id, SettleOutcome::sent_no_result, ev);  // a debit without a result: ignored
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), 0);
  const WalletTotals t = wallet->totals();
  EXPECT_EQ(t.payments, 2u);
  EXPECT_EQ(t.tickets_sent, 4u);
  EXPECT_EQ(t.ev_sent, ev * 4);
  EXPECT_EQ(t.debited, ev / 2);
}

TEST_F(Wallet_, Settle_GivenDebitAboveCredit_GoesNegativeAndTheNextPaymentCoversIt) {
  const PaymentGrant g = pay(1);  // one ticket
  wallet->settle(g.id, SettleOutcome::result, ev * 3 / 2);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), -ev / 2);
  EXPECT_EQ(wallet->total_balance(), -ev / 2);
  // min credit EV, existing -EV/2: ceil(1.5) = 2 tickets.
  const PaymentGrant g2 = pay(1);
  EXPECT_EQ(g2.batch.tickets.size(), 2u);
  wallet->settle(g2.id, SettleOutcome::result, 0);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev * 3 / 2);
}

TEST_F(Wallet_, Settle_GivenUnknownOrAlreadySettledGrant_ChangesNothing) {
  const PaymentGrant g = pay(ev);
  wallet->settle(g.id, SettleOutcome::result, 0);
  wallet->settle(g.id, SettleOutcome::result, 0);  // twice: the credit is not doubled
  wallet->settle(g.id + 100, SettleOutcome::result, ev * 7);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev);
  EXPECT_EQ(wallet->totals().payments, 1u);
  EXPECT_EQ(wallet->totals().tickets_sent, 1u);
  EXPECT_EQ(wallet->totals().debited, 0);
}

TEST_F(Wallet_, Balances_GivenTwoSessionsAndTwoOrchestrators_AreKeptApart) {
  const PrivateKey orch2 = PrivateKey::generate();
  ASSERT_TRUE(ledger->register_orchestrator(orch2.address(), "https://127.0.0.1:8936"));
  pm::Recipient recipient2(orch2.address(), *ledger, *queue, recipient_config());
  const pm::TicketParams params2 = recipient2.ticket_params(gw.address(), price).value();
  const Rational ev2 = params2.expected_value();

  const PaymentGrant a = pay(ev * 2, "s1");
  const PaymentGrant b = pay(ev, "s2");
  auto c = wallet->pay(orch2.address(), "s1", params2, price, ev2 * 3);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->batch.params.recipient, orch2.address());
  std::set<std::uint64_t> ids{a.id, b.id, c->id};
  EXPECT_EQ(ids.size(), 3u);
  wallet->settle(a.id, SettleOutcome::result, ev / 2);
  wallet->settle(b.id, SettleOutcome::result, ev / 4);
  wallet->settle(c->id, SettleOutcome::sent_no_result);

  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev * 3 / 2);
  EXPECT_EQ(wallet->balance(orch.address(), "s2"), ev * 3 / 4);
  EXPECT_EQ(wallet->balance(orch2.address(), "s1"), 0);
  EXPECT_EQ(wallet->total_balance(), ev * 9 / 4);
  const auto by = wallet->balance_by_orchestrator();
  EXPECT_EQ(by.at(orch.address()), ev * 9 / 4);
  EXPECT_EQ(by.count(orch2.address()) ? by.at(orch2.address()) : Rational(0), 0);

  const WalletTotals t = wallet->totals();
  EXPECT_EQ(t.payments, 3u);
  EXPECT_EQ(t.tickets_sent, 6u);
  EXPECT_EQ(t.ev_sent, ev * 3 + ev2 * 3);
  ASSERT_EQ(t.by_orchestrator.size(), 2u);
  EXPECT_EQ(t.by_orchestrator.at(orch.address()).payments, 2u);
  EXPECT_EQ(t.by_orchestrator.at(orch.address()).tickets_sent, 3u);
  EXPECT_EQ(t.by_orchestrator.at(orch.address()).debited, ev * 3 / 4);
  EXPECT_EQ(t.by_orchestrator.at(orch2.address()).payments, 1u);
  EXPECT_EQ(t.by_orchestrator.at(orch2.address()).tickets_sent, 3u);
  EXPECT_EQ(t.by_orchestrator.at(orch2.address()).ev_sent, ev2 * 3);
  EXPECT_EQ(t.by_orchestrator.at(orch2.address()).debited, 0);
}

TEST_F(Wallet_, Pay_GivenNextParamsFromTheSameOrchestrator_StartsNoncesAgainAndContinuesOld) {
  const PaymentGrant g = pay(ev * 2);
  wallet->settle(g.id, SettleOutcome::result, ev * 2);
  // Same params again: the sender's session continues its nonces.
  const PaymentGrant g2 = pay(ev);
  ASSERT_EQ(g2.batch.tickets.size(), 1u);
  EXPECT_EQ(g2.batch.tickets[0].sender_nonce, 3u);
  expect_accepted(g, "s1");
  expect_accepted(g2, "s1");
  wallet->settle(g2.id, SettleOutcome::result, ev);
  // Fresh params (a new recipientRandHash) are a new nonce space.
  params = recipient->ticket_params(gw.address(), price).value();
  const PaymentGrant g3 = pay(ev);
  ASSERT_EQ(g3.batch.tickets.size(), 1u);
  EXPECT_EQ(g3.batch.tickets[0].sender_nonce, 1u);
  expect_accepted(g3, "s1");
}

TEST_F(Wallet_, Pay_GivenPriceAboveTheMaximum_RefusesForbiddenAndKeepsTheCredit) {
  WalletConfig c = default_config();
  c.max_price_per_pixel = Rational(1, 2);
  wallet = make_wallet(c);
  const pm::PriceInfo half{1, 2};
  auto p = recipient->ticket_params(gw.address(), half).value();
  auto ok = wallet->pay(orch.address(), "s1", p, half, ev);  // exactly the maximum: accepted
  ASSERT_TRUE(ok) << ok.error().to_string();
  wallet->settle(ok->id, SettleOutcome::result, 0);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev);

  const pm::PriceInfo above{501, 1000};
  auto refused = wallet->pay(orch.address(), "s1", p, above, ev);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "price_too_high");
  EXPECT_EQ(refused.error().kind, ErrorKind::forbidden);
  EXPECT_NE(refused.error().message.find(to_checksum(orch.address())), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev);
  EXPECT_EQ(wallet->totals().payments, 1u);
}

TEST_F(Wallet_, Pay_GivenMaximumZero_AcceptsAnyPrice) {
  const pm::PriceInfo dear{1'000'000'000, 1};
  auto p = recipient->ticket_params(gw.address(), dear).value();
  EXPECT_TRUE(wallet->pay(orch.address(), "s1", p, dear, 1));
}

TEST_F(Wallet_, Pay_GivenABadPrice_RefusesAsInvalidInput) {
  auto r = wallet->pay(orch.address(), "s1", params, pm::PriceInfo{1000, 0}, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "bad_price");
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_input);
  auto r2 = wallet->pay(orch.address(), "s1", params, pm::PriceInfo{-1, 1}, 1);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "bad_price");
}

TEST_F(Wallet_, Pay_GivenZeroEvParams_Refuses) {
  pm::TicketParams p = params;
  p.win_prob = 0;
  auto r = wallet->pay(orch.address(), "s1", p, price, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "zero_ev");
  EXPECT_EQ(r.error().kind, ErrorKind::forbidden);
}

TEST_F(Wallet_, Pay_GivenExpiredParams_RefusesRetryableAndRestoresTheReservedCredit) {
  const PaymentGrant g = pay(ev * 2);
  wallet->settle(g.id, SettleOutcome::result, ev / 2);  // 1.5 EV left
  ASSERT_TRUE(ledger->advance_blocks(1000));            // past the params' expiration block
  auto r = wallet->pay(orch.address(), "s1", params, price, ev * 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "ticket_params_expired");
  EXPECT_EQ(r.error().kind, ErrorKind::retryable);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), ev * 3 / 2);
  EXPECT_EQ(wallet->totals().payments, 1u);
  // Fresh params from the orchestrator are paid again.
  params = recipient->ticket_params(gw.address(), price).value();
  const PaymentGrant g2 = pay(ev * 3);
  EXPECT_EQ(g2.batch.tickets.size(), 2u);
  expect_accepted(g2, "s1");
}

TEST_F(Wallet_, Pay_GivenTicketEvAboveTheMaximum_RefusesTicketEvTooHigh) {
  WalletConfig c = default_config();
  c.sender.max_ticket_ev = U256(999'999'999'999);
  wallet = make_wallet(c);
  auto r = wallet->pay(orch.address(), "s1", params, price, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "ticket_ev_too_high");
  EXPECT_EQ(r.error().kind, ErrorKind::retryable);
  EXPECT_EQ(wallet->totals().tickets_sent, 0u);
}

TEST_F(Wallet_, Pay_GivenAFeeNeedingMoreThanTheTotalEv_RefusesTotalEvTooHigh) {
  WalletConfig c = default_config();
  c.sender.max_total_ev = U256(5'000'000'000'000);  // 4 tickets fit (EV just above 1e12), 5 do not
  wallet = make_wallet(c);
  auto four = wallet->pay(orch.address(), "s1", params, price, ev * 4);
  ASSERT_TRUE(four) << four.error().to_string();
  EXPECT_EQ(four->batch.tickets.size(), 4u);
  auto five = wallet->pay(orch.address(), "s2", params, price, ev * 5);
  ASSERT_FALSE(five);
  EXPECT_EQ(five.error().code, "total_ev_too_high");
  EXPECT_EQ(five.error().kind, ErrorKind::retryable);
}

TEST_F(Wallet_, Pay_GivenATinyTicketEv_RefusesTooManyTicketsAtOnceAndKeepsTheCredit) {
  // 1 wei of EV against a 1e9 fee would take 1e9 signatures; the wallet refuses before signing.
  const PaymentGrant g = pay(ev);
  wallet->settle(g.id, SettleOutcome::result, ev / 2);
  const Rational credit = wallet->balance(orch.address(), "s1");
  pm::TicketParams p = params;
  p.win_prob = 1;
  ASSERT_LE(p.expected_value(), 1);
  auto r = wallet->pay(orch.address(), "s1", p, price, credit + 1'000'000'000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "too_many_tickets");
  EXPECT_EQ(r.error().kind, ErrorKind::forbidden);
  EXPECT_EQ(wallet->balance(orch.address(), "s1"), credit);
  EXPECT_EQ(wallet->totals().tickets_sent, 1u);
}

TEST_F(Wallet_, Pay_GivenFaceValueAboveTheDeposit_RefusesFaceValueTooHigh) {
  pm::TicketParams p = params;
  p.face_value = test::kEther + 1;
  p.win_prob = max_win_prob() / 1'000'000;  // EV about 1e12: one ticket
  auto r = wallet->pay(orch.address(), "s1", p, price, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "face_value_too_high");
}

TEST_F(Wallet_, Sign_GivenAMessage_SignsWithTheGatewayKey) {
  EXPECT_EQ(wallet->address(), gw.address());
  const std::string m = "0x" + to_hex(gw.address(), false);
  const Signature sig = wallet->sign(as_bytes(m));
  EXPECT_TRUE(verify_message(gw.address(), as_bytes(m), sig));
  EXPECT_FALSE(verify_message(orch.address(), as_bytes(m), sig));
  EXPECT_EQ(sig, sign_message(gw, as_bytes(m)));  // RFC 6979: deterministic
}

TEST_F(Wallet_, PayAndSettle_GivenConcurrentSegments_KeepExactBooks) {
  constexpr int kThreads = 4;
  constexpr int kSegments = 25;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::vector<std::set<std::uint64_t>> ids(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const std::string session = "s" + std::to_string(t);
      for (int i = 0; i < kSegments; ++i) {
        auto g = wallet->pay(orch.address(), session, params, price, ev * 2);
        if (!g) {
          ADD_FAILURE() << g.error().to_string();
          return;
        }
        ids[t].insert(g->id);
        wallet->settle(g->id, SettleOutcome::result, ev * 3 / 2);
      }
    });
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> all;
  for (const auto& s : ids) all.insert(s.begin(), s.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kSegments));
  // Every session runs the same sequence of balance updates; replay it once.
  Rational credit = 0;
  std::uint64_t tickets = 0;
  for (int i = 0; i < kSegments; ++i) {
    const auto n = static_cast<std::uint64_t>(pm::Sender::tickets_for_fee(ev * 2, credit, ev));
    tickets += n;
    credit += ev * n - ev * 3 / 2;
  }
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(wallet->balance(orch.address(), "s" + std::to_string(t)), credit);
  const WalletTotals w = wallet->totals();
  EXPECT_EQ(w.payments, static_cast<std::uint64_t>(kThreads * kSegments));
  EXPECT_EQ(w.tickets_sent, tickets * kThreads);
  EXPECT_EQ(w.ev_sent, ev * (tickets * kThreads));
  EXPECT_EQ(w.debited, ev * 3 / 2 * (kThreads * kSegments));
  EXPECT_EQ(wallet->total_balance(), credit * kThreads);
}

TEST(EstimateFee, GivenProfiles_CountsPixelsFramesAndSecondsAsGoLivepeer) {
  // 1280x720 at 30 fps, 640x360 passthrough (counted as 60 fps), 2 s: pixels
  // 1280*720*30*2 + 640*360*60*2 = 55'296'000 + 27'648'000 = 82'944'000, times 1.02.
  const std::vector<ProfileBox> ladder{{1280, 720, 30, 1}, {640, 360, 0, 1}};
  EXPECT_EQ(estimate_fee(ladder, 2.0, 1), Rational(84'602'880));
  EXPECT_EQ(estimate_fee(ladder, 2.0, Rational(1, 3)), Rational(84'602'880, 3));
  // Durations round up to whole seconds; 30000/1001 fps rounds up to 30.
  EXPECT_EQ(estimate_fee(ladder, 1.2, 1), Rational(84'602'880));
  const std::vector<ProfileBox> ntsc{{1280, 720, 30000, 1001}};
  EXPECT_EQ(estimate_fee(ntsc, 1.0, 1), Rational(1280 * 720 * 30) * Rational(102, 100));
  EXPECT_EQ(estimate_fee(ladder, 0.0, 1000), 0);
  EXPECT_EQ(estimate_fee({}, 2.0, 1000), 0);
}

}  // namespace
}  // namespace lp::gw
