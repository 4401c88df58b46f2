// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "payment/ledger/local_ledger.h"
#include "payment/ledger/settlement.h"
#include "payment/pm/winner.h"
#include "tests/unit/test_util.h"

namespace lp::ledger {
namespace {

/// A signed ticket in the ledger's current round; wins unless win_prob is lowered.
pm::WinningTicket make_ticket(LocalLedger& l, const PrivateKey& sender, const Address& recipient,
                              const U256& face_value, std::uint32_t nonce,
                              const U256& win_prob = max_win_prob()) {
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
  // One round later the ticket is still valid (creationRound + 2 > currentRound); two: expired.
  ASSERT_TRUE(ledger->advance_blocks(100));
  ASSERT_TRUE(ledger->advance_blocks(100));
  EXPECT_EQ(redeem(w).error().message, "ticket is expired");
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

// The settlement seam: one URI-like setting, one shared handle per backend.

using Backend = SettlementUri::Backend;

void expect_local(const std::string& uri, const std::string& path) {
  auto u = parse_settlement_uri(uri);
  ASSERT_TRUE(u) << uri << ": " << u.error().to_string();
  EXPECT_EQ(u->backend, Backend::local) << uri;
  EXPECT_EQ(u->location, path) << uri;
}

void expect_error(const std::string& uri, const std::string& code, const std::string& says) {
  auto u = parse_settlement_uri(uri);
  ASSERT_FALSE(u) << uri;
  EXPECT_EQ(u.error().code, code) << uri;
  EXPECT_EQ(u.error().kind, ErrorKind::invalid_input) << uri;
  EXPECT_NE(u.error().message.find(says), std::string::npos) << u.error().message;
}

TEST(SettlementUri, Parse_GivenPlainPath_IsTheLocalLedgerFile) {
  expect_local("demo.db", "demo.db");
  expect_local("/var/lib/lp/ledger.db", "/var/lib/lp/ledger.db");
  expect_local("./a:b.db", "./a:b.db");
  expect_local("../x.db", "../x.db");
}

TEST(SettlementUri, Parse_GivenFileAndSqliteForms_ReadsThePath) {
  expect_local("file:demo.db", "demo.db");
  expect_local("sqlite:demo.db", "demo.db");
  expect_local("file:/var/x.db", "/var/x.db");
  expect_local("sqlite:///var/x.db", "/var/x.db");
  expect_local("file:///var/x.db", "/var/x.db");
  expect_local("FILE://localhost/var/x.db", "/var/x.db");
  expect_local("file:a:b.db", "a:b.db");
}

TEST(SettlementUri, Parse_GivenEthereumEndpoints_NamesTheEthereumBackend) {
  for (const char* uri : {"https://arb1.arbitrum.io/rpc", "http://127.0.0.1:8545",
                          "ws://127.0.0.1:8546", "WSS://node.example/ws"}) {
    auto u = parse_settlement_uri(uri);
    ASSERT_TRUE(u) << uri;
    EXPECT_EQ(u->backend, Backend::ethereum) << uri;
    EXPECT_EQ(u->location, uri);
  }
}

TEST(SettlementUri, Parse_GivenMistakes_FailsNamingTheForms) {
  expect_error("", "settlement_uri", "file:PATH");
  expect_error("file:", "settlement_uri", "no ledger file");
  expect_error("sqlite://", "settlement_uri", "no ledger file");
  expect_error("file://ledger.db", "settlement_uri", "no host ('ledger.db')");
  expect_error("file://host/x.db", "settlement_uri", "no host ('host')");
  expect_error("ftp://host/x.db", "settlement_scheme", "unknown settlement scheme 'ftp'");
  expect_error("ledger:2.db", "settlement_scheme", "file:NAME or ./NAME");
}

TEST(Settlement, Open_GivenEthereumEndpoint_SaysTheBackendIsNotBuiltYet) {
  auto s = open_settlement("https://arb1.arbitrum.io/rpc");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "settlement_unavailable");
  EXPECT_EQ(s.error().kind, ErrorKind::fatal);
  EXPECT_NE(s.error().message.find("Ethereum JSON-RPC settlement backend is not built yet"),
            std::string::npos)
      << s.error().message;
  auto l = open_local_ledger("ws://127.0.0.1:8546");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, "settlement_not_local");
  EXPECT_EQ(open_settlement("gopher:x").error().code, "settlement_scheme");
}

TEST(Settlement, Open_GivenUnwritablePath_FailsWithStorageError) {
  auto s = open_settlement("file:/nonexistent-dir/x.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "storage");
}

TEST(Settlement, Open_GivenOneFileSpelledDifferently_SharesOneHandle) {
  test::TempDir dir;
  const std::string path = dir.file("l.db");
  std::filesystem::create_directory(dir.path() / "sub");
  std::filesystem::create_symlink(path, dir.file("link.db"));
  auto first = open_settlement(path).value();
  for (const std::string& uri :
       {path, "file:" + path, "sqlite:" + path, "file://" + path, "file://localhost" + path,
        (dir.path() / "." / "l.db").string(), (dir.path() / "sub" / ".." / "l.db").string(),
        (dir.path() / "gone" / ".." / "l.db").string(), dir.file("link.db")}) {
    auto again = open_settlement(uri);
    ASSERT_TRUE(again) << uri << ": " << again.error().to_string();
    EXPECT_EQ(again->get(), first.get()) << uri;
  }
  auto local = open_local_ledger(path).value();
  EXPECT_EQ(static_cast<Settlement*>(local.get()), first.get());
  EXPECT_EQ(local->path(), path);
}

TEST(Settlement, Open_GivenDifferentFiles_OpensLedgersOfTheirOwn) {
  test::TempDir dir;
  PrivateKey gw = PrivateKey::generate();
  auto a = open_local_ledger(dir.file("a.db")).value();
  auto b = open_local_ledger(dir.file("b.db")).value();
  ASSERT_NE(a.get(), b.get());
  ASSERT_TRUE(a->fund(gw.address(), 7, 0));
  EXPECT_EQ(a->sender_info(gw.address())->deposit, U256(7));
  EXPECT_EQ(b->sender_info(gw.address())->deposit, U256(0));
}

TEST(Settlement, Open_GivenEveryHandleReleased_ClosesTheFileAndReopensItsState) {
  test::TempDir dir;
  PrivateKey gw = PrivateKey::generate();
  std::weak_ptr<LocalLedger> watch;
  {
    auto l = open_local_ledger(dir.file("l.db")).value();
    ASSERT_TRUE(l->fund(gw.address(), 5, 6));
    watch = l;
    auto shared = open_settlement("file:" + dir.file("l.db")).value();
  }
  EXPECT_TRUE(watch.expired());  // the cache does not keep a ledger open
  auto again = open_settlement(dir.file("l.db")).value();
  EXPECT_EQ(again->sender_info(gw.address())->reserve, U256(6));
}

TEST(Settlement, Open_GivenOneNewFileFromManyThreads_MakesOneHandle) {
  test::TempDir dir;
  constexpr int kThreads = 8;
  std::vector<std::shared_ptr<Settlement>> got(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto s = open_settlement(i % 2 ? "file:" + dir.file("new.db") : dir.file("new.db"));
      if (s) got[i] = *s;
    });
  for (auto& t : threads) t.join();
  for (const auto& s : got) {
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s.get(), got[0].get());
  }
}

TEST(Settlement, SharedHandle_GivenThreadsFundingAndReading_KeepsEveryTransaction) {
  test::TempDir dir;
  PrivateKey gw = PrivateKey::generate();
  auto ledger = open_local_ledger(dir.file("l.db")).value();
  std::shared_ptr<Settlement> settlement = ledger;
  constexpr int kThreads = 4;
  constexpr int kFunds = 50;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::vector<int> failures(kThreads, 0);
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int n = 0; n < kFunds; ++n) {
        if (!ledger->fund(gw.address(), 1, 2)) ++failures[i];
        if (!settlement->sender_info(gw.address())) ++failures[i];
        if (!settlement->orchestrators()) ++failures[i];
      }
    });
  for (auto& t : threads) t.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  auto info = settlement->sender_info(gw.address()).value();
  EXPECT_EQ(info.deposit, U256(kThreads * kFunds));
  EXPECT_EQ(info.reserve, U256(2 * kThreads * kFunds));
}

TEST(Settlement, Registry_GivenRegisteredOrchestrators_ListsThemWithURIAndActivity) {
  test::TempDir dir;
  PrivateKey o1 = PrivateKey::generate();
  PrivateKey o2 = PrivateKey::generate();
  auto local = open_local_ledger(dir.file("l.db")).value();
  ASSERT_TRUE(local->register_orchestrator(o1.address(), "https://o1:8935"));
  ASSERT_TRUE(local->register_orchestrator(o2.address(), "https://o2:8935", false));
  std::shared_ptr<Settlement> settlement = open_settlement(dir.file("l.db")).value();
  OrchestratorRegistry& registry = *settlement;
  auto entries = registry.orchestrators().value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].address, o1.address());
  EXPECT_EQ(entries[0].service_uri, "https://o1:8935");
  EXPECT_TRUE(entries[0].active);
  EXPECT_EQ(entries[1].address, o2.address());
  EXPECT_FALSE(entries[1].active);
  EXPECT_EQ(settlement->describe(), "local ledger " + dir.file("l.db"));
}

}  // namespace
}  // namespace lp::ledger
