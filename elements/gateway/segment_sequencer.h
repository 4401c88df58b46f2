// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's one segment sequencer: segments are accepted in arrival order, worked on out of
// order (several in flight, each retried elsewhere by the remote transcoder), and released
// downstream strictly in order. A released segment that downstream refuses (lpverify: the
// renditions failed verification) is done again, up to a limit, then given up (skipped).
//
// A refusal that arrives while the segment is being pushed (lpverify directly downstream: it
// verifies inside the push) keeps the segment at the head of the line, so order holds. A refusal
// that arrives after the release (a queue in between) redoes the segment too, and it is released
// again as soon as it is done, ahead of the line ("late").
//
// Pad-free and lock-free: the owner (lpremote-transcode) calls it under its own lock. T is what
// travels with a segment (the element's job), copied out by head().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace lp::gw {

template <class T>
class SegmentSequencer {
 public:
  /// max_refusals: a segment refused this many times is given up. keep_released: how many
  /// released segments are remembered for a late refusal.
  explicit SegmentSequencer(int max_refusals = 3, std::size_t keep_released = 32)
      : max_refusals_(max_refusals < 1 ? 1 : max_refusals), keep_released_(keep_released) {}

  /// A segment taken in; it will be released in this order. A seq already known is ignored
  /// (returns false), unless it was released already: then it is sent again (an HTTP push of
  /// a segment whose earlier attempt failed) and taken as a new one.
  bool accept(std::int64_t seq, T item) {
    if (auto it = entries_.find(seq); it != entries_.end()) {
      if (it->second.state != State::released) return false;
      erase_from(released_, seq);
      entries_.erase(it);
    }
    entries_.emplace(seq, Entry{std::move(item)});
    order_.push_back(seq);
    return true;
  }

  /// The work on a segment is done (its result is in its item). False when the seq is unknown
  /// (flushed, or forgotten).
  bool complete(std::int64_t seq) {
    auto it = entries_.find(seq);
    if (it == entries_.end() || it->second.state != State::working) return false;
    it->second.state = State::done;
    return true;
  }

  /// The next segment to push: a late redone one when it is done, else the head of the line
  /// when it is done; nullopt when nothing is ready.
  struct Release {
    std::int64_t seq = 0;
    T item;
    int refusals = 0;  ///< pass it back to released()
    bool late = false;
  };
  std::optional<Release> head() const {
    for (const std::deque<std::int64_t>* q : {&late_, &order_}) {
      if (q->empty()) continue;
      const auto it = entries_.find(q->front());
      if (it != entries_.end() && it->second.state == State::done)
        return Release{it->first, it->second.item, it->second.refusals, q == &late_};
    }
    return std::nullopt;
  }

  /// The segment head() gave went downstream. Refused while it was pushed (refusals changed):
  /// nothing happens, it stays in line. Otherwise it leaves the line and is remembered a while.
  void released(std::int64_t seq, int refusals) {
    auto it = entries_.find(seq);
    if (it == entries_.end() || it->second.refusals != refusals || it->second.state != State::done)
      return;
    it->second.state = State::released;
    erase_from(late_, seq);
    erase_from(order_, seq);
    released_.push_back(seq);
    while (released_.size() > keep_released_) {
      entries_.erase(released_.front());
      released_.pop_front();
    }
  }

  enum class Verdict {
    redo,     ///< do it again (the caller starts the work, then complete())
    give_up,  ///< refused too often: the caller stores the failure in the item; it is ready
    unknown,  ///< not known (any more), or being worked on: nothing to do
  };
  /// Downstream refused a segment that was pushed.
  Verdict refuse(std::int64_t seq) {
    auto it = entries_.find(seq);
    if (it == entries_.end() || it->second.state == State::working) return Verdict::unknown;
    Entry& e = it->second;
    ++e.refusals;
    if (e.state == State::released) {
      erase_from(released_, seq);
      late_.push_back(seq);
    }
    if (e.refusals >= max_refusals_) {
      e.state = State::done;
      return Verdict::give_up;
    }
    e.state = State::working;
    return Verdict::redo;
  }

  /// The item of a known segment (to store its result), or null.
  T* item(std::int64_t seq) {
    auto it = entries_.find(seq);
    return it == entries_.end() ? nullptr : &it->second.item;
  }
  int refusals(std::int64_t seq) const {
    auto it = entries_.find(seq);
    return it == entries_.end() ? 0 : it->second.refusals;
  }

  /// Segments accepted or redone and not yet released.
  std::size_t waiting() const { return order_.size() + late_.size(); }
  bool idle() const { return order_.empty() && late_.empty(); }

  /// Forgets everything (a flush or a stop).
  void clear() {
    entries_.clear();
    order_.clear();
    late_.clear();
    released_.clear();
  }

 private:
  enum class State { working, done, released };
  struct Entry {
    T item;
    State state = State::working;
    int refusals = 0;
  };
  static void erase_from(std::deque<std::int64_t>& q, std::int64_t seq) {
    for (auto i = q.begin(); i != q.end(); ++i)
      if (*i == seq) {
        q.erase(i);
        return;
      }
  }

  int max_refusals_;
  std::size_t keep_released_;
  std::map<std::int64_t, Entry> entries_;
  std::deque<std::int64_t> order_;     // accepted, not released, in arrival order
  std::deque<std::int64_t> late_;      // refused after their release, redone
  std::deque<std::int64_t> released_;  // released and remembered, oldest first
};

}  // namespace lp::gw
