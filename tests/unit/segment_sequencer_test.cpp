// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/gateway/segment_sequencer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using Seq = lp::gw::SegmentSequencer<std::string>;

/// Releases whatever is ready, in the order the sequencer gives it.
std::vector<std::int64_t> drain(Seq& s) {
  std::vector<std::int64_t> out;
  while (auto r = s.head()) {
    out.push_back(r->seq);
    s.released(r->seq, r->refusals);
  }
  return out;
}

TEST(SegmentSequencer, Head_GivenOutOfOrderCompletions_ReleasesInArrivalOrder) {
  Seq s;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.accept(i, "seg" + std::to_string(i)));
  EXPECT_TRUE(s.complete(2));
  EXPECT_TRUE(s.complete(1));
  EXPECT_FALSE(s.head());  // 0 is not done: nothing overtakes it
  EXPECT_TRUE(s.complete(0));
  EXPECT_EQ(drain(s), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(s.waiting(), 1u);
  EXPECT_TRUE(s.complete(3));
  auto r = s.head();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->item, "seg3");
  EXPECT_FALSE(r->late);
  s.released(3, r->refusals);
  EXPECT_TRUE(s.idle());
}

TEST(SegmentSequencer, Accept_GivenKnownSeq_Ignored) {
  Seq s;
  EXPECT_TRUE(s.accept(5, "a"));
  EXPECT_FALSE(s.accept(5, "b"));
  EXPECT_EQ(*s.item(5), "a");
  EXPECT_EQ(s.waiting(), 1u);
}

// An HTTP push of a segment whose earlier attempt was given up: taken again, as a new one.
TEST(SegmentSequencer, Accept_GivenAReleasedSeq_TakesItAgain) {
  Seq s;
  ASSERT_TRUE(s.accept(3, "first"));
  ASSERT_TRUE(s.complete(3));
  s.released(3, 0);
  EXPECT_TRUE(s.idle());
  EXPECT_TRUE(s.accept(3, "again"));
  EXPECT_EQ(*s.item(3), "again");
  EXPECT_EQ(s.waiting(), 1u);
  EXPECT_FALSE(s.head());  // being worked on
}

TEST(SegmentSequencer, Refuse_WhilePushed_KeepsItAtTheHeadUntilRedone) {
  Seq s;
  s.accept(0, "a");
  s.accept(1, "b");
  s.complete(0);
  s.complete(1);
  auto r = s.head();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->seq, 0);
  // Downstream refuses 0 inside the push.
  EXPECT_EQ(s.refuse(0), Seq::Verdict::redo);
  s.released(0, r->refusals);  // the push returns: nothing is released
  EXPECT_FALSE(s.head());      // 1 waits for the redone 0
  EXPECT_FALSE(s.complete(7));
  EXPECT_TRUE(s.complete(0));
  EXPECT_EQ(drain(s), (std::vector<std::int64_t>{0, 1}));
}

TEST(SegmentSequencer, Refuse_AfterRelease_RedoesItAheadOfTheLine) {
  Seq s;
  for (int i = 0; i < 3; ++i) s.accept(i, "x");
  s.complete(0);
  EXPECT_EQ(drain(s), (std::vector<std::int64_t>{0}));
  EXPECT_EQ(s.refuse(0), Seq::Verdict::redo);  // a late verdict (a queue in between)
  EXPECT_EQ(s.waiting(), 3u);
  s.complete(1);
  EXPECT_EQ(drain(s), (std::vector<std::int64_t>{1}));  // the line goes on meanwhile
  s.complete(0);
  auto r = s.head();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 0);
  EXPECT_TRUE(r->late);
  s.released(0, r->refusals);
  s.complete(2);
  EXPECT_EQ(drain(s), (std::vector<std::int64_t>{2}));
  EXPECT_TRUE(s.idle());
}

TEST(SegmentSequencer, Refuse_GivenMaxRefusals_GivesUpAndReleasesOnce) {
  Seq s(3);
  s.accept(0, "x");
  s.complete(0);
  for (int n = 1; n < 3; ++n) {
    auto r = s.head();
    ASSERT_TRUE(r);
    EXPECT_EQ(s.refuse(0), Seq::Verdict::redo) << n;
    s.released(0, r->refusals);
    EXPECT_FALSE(s.head());
    s.complete(0);
  }
  auto r = s.head();
  ASSERT_TRUE(r);
  EXPECT_EQ(s.refuse(0), Seq::Verdict::give_up);
  EXPECT_EQ(s.refusals(0), 3);
  s.released(0, r->refusals);  // refused during the push: still in line, ready (given up)
  auto last = s.head();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->refusals, 3);
  s.released(0, last->refusals);
  EXPECT_TRUE(s.idle());
  EXPECT_FALSE(s.head());
}

TEST(SegmentSequencer, Refuse_GivenWorkingOrForgottenSegment_Unknown) {
  Seq s(3, 2);
  for (int i = 0; i < 4; ++i) s.accept(i, "x");
  EXPECT_EQ(s.refuse(0), Seq::Verdict::unknown);  // still being worked on
  for (int i = 0; i < 4; ++i) s.complete(i);
  EXPECT_EQ(drain(s).size(), 4u);
  EXPECT_EQ(s.refuse(0), Seq::Verdict::unknown);  // forgotten: only 2 are kept
  EXPECT_EQ(s.refuse(9), Seq::Verdict::unknown);
  EXPECT_EQ(s.refuse(3), Seq::Verdict::redo);
}

TEST(SegmentSequencer, Clear_GivenFlush_ForgetsEverything) {
  Seq s;
  s.accept(0, "x");
  s.accept(1, "y");
  s.complete(1);
  s.clear();
  EXPECT_TRUE(s.idle());
  EXPECT_FALSE(s.complete(0));
  EXPECT_FALSE(s.head());
  EXPECT_TRUE(s.accept(0, "again"));  // a stream that starts over after the flush
  s.complete(0);
  EXPECT_EQ(drain(s), (std::vector<std::int64_t>{0}));
}

}  // namespace
