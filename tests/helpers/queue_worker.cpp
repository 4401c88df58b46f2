// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs one pass of the winning-ticket queue on a local ledger, as an orchestrator's redeemer
// does, so that a test can kill it mid-run. Usage:
//   queue_worker DB [--crash-after N] [--pace-ms M]
// --crash-after N: SIGKILL itself right after the N-th redemption reached the ledger and
//                  before the queue recorded it (the worst moment for exactly-once).
// --pace-ms M:     sleep M ms after each redemption, giving an outside killer a window.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: queue_worker DB [--crash-after N] [--pace-ms M]\n");
    return 2;
  }
  long crash_after = -1, pace_ms = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--crash-after")) crash_after = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--pace-ms")) pace_ms = std::atol(argv[i + 1]);
  }
  auto ledger = lp::ledger::LocalLedger::open(argv[1]);
  if (!ledger) return std::fprintf(stderr, "%s\n", ledger.error().message.c_str()), 1;
  auto queue = lp::pm::TicketQueue::open(argv[1], **ledger);
  if (!queue) return std::fprintf(stderr, "%s\n", queue.error().message.c_str()), 1;
  long done = 0;
  (*queue)->set_observer([&](const lp::Hash&, bool) {
    if (++done == crash_after) raise(SIGKILL);
    if (pace_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pace_ms));
  });
  auto run = (*queue)->process();
  if (!run) return std::fprintf(stderr, "%s\n", run.error().message.c_str()), 1;
  std::printf("{\"redeemed\":%zu,\"retried\":%zu,\"dropped\":%zu}\n", run->redeemed, run->retried,
              run->dropped);
  return 0;
}
