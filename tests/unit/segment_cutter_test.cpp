// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/segmenter/segment_cutter.h"

#include <gtest/gtest.h>

namespace lp::media {
namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kFrame = 33'333'333;  // 30 fps

TEST(SegmentCutter, OnVideo_GivenTwoSecondGops_CutsAtEachIdrAfterTheTarget) {
  SegmentCutter c(2000 * kMs);
  int cuts = 0;
  for (int i = 0; i < 180; ++i) {
    auto d = c.on_video(1000 * kMs + i * kFrame, i % 60 == 0, false);
    EXPECT_FALSE(d.request_keyframe) << i;  // keyframes come on time
    cuts += d.cut;
    if (d.cut) {
      EXPECT_EQ(i % 60, 0);
    }
  }
  EXPECT_EQ(cuts, 2);
  EXPECT_EQ(c.seq(), 2u);
  EXPECT_EQ(c.start(), 1000 * kMs + 120 * kFrame);
}

TEST(SegmentCutter, OnVideo_GivenTimestampsRoundedDown_StillCutsAtTheTarget) {
  SegmentCutter c(2000 * kMs);
  c.on_video(0, true, false);
  EXPECT_TRUE(c.on_video(60 * kFrame, true, false).cut);  // 1.99999998 s
  EXPECT_FALSE(c.on_video(60 * kFrame + 59 * kFrame, true, false).cut);
}

TEST(SegmentCutter, OnVideo_GivenIdrBeforeTheTarget_DoesNotCut) {
  SegmentCutter c(2000 * kMs);
  c.on_video(0, true, false);
  EXPECT_FALSE(c.on_video(30 * kFrame, true, false).cut);  // 1 s: too early
  EXPECT_TRUE(c.on_video(60 * kFrame, true, false).cut);
}

TEST(SegmentCutter, OnVideo_GivenNoKeyframeAtTarget_RequestsOneOnceThenWarnsOnceForLongGop) {
  SegmentCutter c(2000 * kMs);
  c.on_video(0, true, false);
  int requests = 0, warnings = 0;
  for (int i = 1; i < 600; ++i) {
    auto d = c.on_video(i * kFrame, false, false);
    requests += d.request_keyframe;
    warnings += d.long_segment;
    EXPECT_FALSE(d.cut);
  }
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(warnings, 1);
  EXPECT_TRUE(c.on_video(600 * kFrame, true, false).cut);
  // A new segment may ask again, but the long-GOP warning is once per stream.
  int later_requests = 0, later_warnings = 0;
  for (int i = 601; i < 1200; ++i) {
    auto d = c.on_video(i * kFrame, false, false);
    later_requests += d.request_keyframe;
    later_warnings += d.long_segment;
  }
  EXPECT_EQ(later_requests, 1);
  EXPECT_EQ(later_warnings, 0);
}

TEST(SegmentCutter, OnVideo_GivenDiscontinuity_StartsAMarkedSegmentAtTheNextKeyframe) {
  SegmentCutter c(2000 * kMs);
  c.on_video(0, true, false);
  EXPECT_FALSE(c.marked());
  EXPECT_FALSE(c.on_video(kFrame, false, true).cut);  // a delta frame cannot start a segment
  auto d = c.on_video(2 * kFrame, true, false);       // long before the target
  EXPECT_TRUE(d.cut);
  EXPECT_TRUE(c.marked());
  EXPECT_TRUE(c.on_video(70 * kFrame, true, false).cut);
  EXPECT_FALSE(c.marked());
}

TEST(SegmentCutter, OnFormatChange_GivenNewResolution_NextKeyframeCutsAndMarks) {
  SegmentCutter c(2000 * kMs);
  c.on_video(0, true, false);
  c.on_format_change();
  EXPECT_TRUE(c.on_video(kFrame, true, false).cut);
  EXPECT_TRUE(c.marked());
  EXPECT_EQ(c.seq(), 1u);
}

TEST(SegmentCutter, OnVideo_GivenFirstFrame_OpensSegmentZero) {
  SegmentCutter c(2000 * kMs);
  EXPECT_FALSE(c.started());
  auto d = c.on_video(5 * kMs, false, true);
  EXPECT_FALSE(d.cut);
  EXPECT_TRUE(c.started());
  EXPECT_EQ(c.seq(), 0u);
  EXPECT_EQ(c.start(), 5 * kMs);
  EXPECT_TRUE(c.marked());
}

}  // namespace
}  // namespace lp::media
