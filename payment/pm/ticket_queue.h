// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "payment/common/sqlite.h"
#include "payment/ledger/ledger.h"
#include "payment/pm/winner.h"

namespace lp::pm {

/// A winner's place in the queue. pending -> submitting -> redeemed | dropped; a retryable
/// failure goes back to pending with a later next_attempt_block.
struct QueuedTicket {
  WinningTicket winner;
  Hash ticket_hash{};
  std::string state;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_block = 0;
  std::string last_error;
  U256 paid = 0;
};

/// What one pass over the queue did.
struct QueueRun {
  std::size_t redeemed = 0;
  std::size_t retried = 0;
  std::size_t dropped = 0;
  U256 value_redeemed = 0;
};

/// The persistent winning-ticket queue (go-livepeer pm/queue.go + ticket store) on SQLite.
/// A ticket is redeemed once its params have expired; retryable failures back off
/// exponentially in blocks; non-retryable ones are dropped with the reason logged. A ticket is
/// marked `submitting` before it goes to the ledger and checked against the ledger's used
/// tickets first, so a restart after `kill -9` never submits a redeemed ticket twice.
class TicketQueue final : public WinnerSink {
 public:
  static Result<std::unique_ptr<TicketQueue>> open(const std::string& path, ledger::Ledger& ledger);

  Status add_winner(const WinningTicket& winner) override;
  Result<U256> pending_face_value(const Address& sender) override;

  /// Redeems every ticket that is due at the ledger's current block.
  Result<QueueRun> process();
  /// Every ticket, oldest first; only those in `state` when it is given.
  Result<std::vector<QueuedTicket>> list(const std::optional<std::string>& state = std::nullopt);

  /// Called after the ledger answered a redemption and before the queue records the answer
  /// (metrics; tests use it to crash at the worst moment).
  void set_observer(std::function<void(const Hash& ticket_hash, bool ok)> fn) {
    observer_ = std::move(fn);
  }

  static constexpr std::int64_t kMaxBackoffBlocks = 64;

 private:
  TicketQueue(std::unique_ptr<sql::Db> db, ledger::Ledger& ledger);
  void set_state(const Hash& hash, const char* state, std::int64_t attempts,
                 std::int64_t next_block, const std::string& error, const U256& paid);

  std::mutex process_mu_;  // one pass at a time; held across ledger calls
  std::mutex mu_;
  std::unique_ptr<sql::Db> db_;  // guarded by mu_, never held across a ledger call
  ledger::Ledger& ledger_;
  std::function<void(const Hash&, bool)> observer_;
};

}  // namespace lp::pm
