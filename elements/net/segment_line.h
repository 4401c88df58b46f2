// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

namespace lp::net {

/// A session's segments are transcoded one at a time in the order they were accepted (a
/// mutex alone would let a later segment overtake an earlier one), with a bounded number
/// waiting: go-livepeer's channel of 4 per session, beyond which a segment gets
/// OrchestratorBusy.
class SegmentLine {
 public:
  explicit SegmentLine(std::size_t max_waiting) : max_waiting_(max_waiting) {}

  /// A place in line, or nullopt when max_waiting segments are already waiting.
  std::optional<std::uint64_t> join() {
    std::lock_guard lock(mu_);
    if (next_ticket_ - serving_ > max_waiting_)
      return std::nullopt;  // one is running, max_waiting wait
    return next_ticket_++;
  }
  /// Blocks until it is this ticket's turn.
  void wait_turn(std::uint64_t ticket) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return serving_ == ticket; });
  }
  /// The holder of the turn is done; the next in line goes.
  void leave() {
    {
      std::lock_guard lock(mu_);
      ++serving_;
    }
    cv_.notify_all();
  }
  /// Segments in line, the running one included.
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(next_ticket_ - serving_);
  }

 private:
  const std::size_t max_waiting_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_ticket_ = 0;  // guarded by mu_
  std::uint64_t serving_ = 0;      // guarded by mu_
};

}  // namespace lp::net
