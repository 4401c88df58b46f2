// SPDX-License-Identifier: LGPL-2.1-or-later
// The winning-ticket queue survives kill -9: a real redeemer process is killed twice mid-run
// (once by itself at the worst moment, once from outside), and the restarted process redeems
// every pending winner exactly once on the real local ledger.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"
#include "tests/unit/test_util.h"

namespace lp {
namespace {

constexpr int kWinners = 30;
const U256 kFaceValue = 1'000'000;

pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::int64_t count(const std::string& db, const char* sql) {
  auto conn = sql::Db::open(db);
  auto st = conn->prepare(sql);
  st.step();
  return st.i64(0);
}

TEST(QueueKill, Restart_AfterSigkillMidRun_RedeemsEveryWinnerExactlyOnce) {
  const char* worker = std::getenv("LP_QUEUE_WORKER");
  ASSERT_NE(worker, nullptr) << "LP_QUEUE_WORKER must name the queue_worker helper";
  test::TempDir dir;
  const std::string db = dir.file("node.db");
  PrivateKey gw = PrivateKey::generate();
  PrivateKey orch = PrivateKey::generate();
  {
    auto ledger = ledger::LocalLedger::open(db).value();
    ASSERT_TRUE(ledger->register_orchestrator(orch.address(), "https://127.0.0.1:8935"));
    ASSERT_TRUE(ledger->fund(gw.address(), kFaceValue * 100, kFaceValue * 100));
    auto queue = pm::TicketQueue::open(db, *ledger).value();
    auto round = ledger->last_initialized_round().value();
    for (int i = 1; i <= kWinners; ++i) {
      pm::WinningTicket w;
      w.recipient_rand = U256(5000 + i);
      w.ticket = {orch.address(),
                  gw.address(),
                  kFaceValue,
                  max_win_prob(),
                  static_cast<std::uint32_t>(i),
                  pm::recipient_rand_hash(w.recipient_rand),
                  {round.round, round.block_hash}};
      Signature s = pm::sign_ticket(gw, w.ticket);
      w.sig.assign(s.begin(), s.end());
      w.params_expiration_block = ledger->block_number().value() + 40;
      ASSERT_TRUE(queue->add_winner(w));
    }
    ASSERT_TRUE(ledger->advance_blocks(40));
  }

  // 1. The worker kills itself after its 5th redemption reached the ledger, before recording it.
  int st = wait_status(spawn({worker, db, "--crash-after", "5"}));
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM used_tickets"), 5);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM winning_tickets WHERE state='submitting'"), 1);

  // 2. Killed from outside while it works.
  pid_t pid = spawn({worker, db, "--pace-ms", "25"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (count(db, "SELECT COUNT(*) FROM used_tickets") < 12 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  st = wait_status(pid);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
      << "the worker finished before it was killed";
  const std::int64_t used_mid = count(db, "SELECT COUNT(*) FROM used_tickets");
  EXPECT_GE(used_mid, 12);
  EXPECT_LT(used_mid, kWinners);

  // 3. A clean run finishes the job.
  st = wait_status(spawn({worker, db}));
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;

  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM used_tickets"), kWinners);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM events WHERE name='WinningTicketRedeemed'"), kWinners);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM winning_tickets WHERE state='redeemed'"), kWinners);
  auto ledger = ledger::LocalLedger::open(db).value();
  EXPECT_EQ(ledger->account_balance(orch.address()).value(), kFaceValue * kWinners);
  EXPECT_EQ(ledger->sender_info(gw.address())->deposit, kFaceValue * (100 - kWinners));
}

}  // namespace
}  // namespace lp
