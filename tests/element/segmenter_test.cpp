// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "elements/lpmeta.h"
#include "tests/element/gst_env.h"
#include "tests/element/media_util.h"
#include "tests/unit/test_util.h"

namespace lp {
namespace {

using test::ClipRun;
using test::count_frames;
using test::ffprobe;
using test::segment_file;
using test::write;

constexpr GstClockTime kFrame = GST_SECOND / 30;
const char* kCaps320 =
    "video/x-h264, stream-format=byte-stream, alignment=au, width=320, height=240, framerate=30/1";

/// A fake H.264 access unit: AUD + one IDR or non-IDR slice NAL; mpegtsmux only packetizes it.
GstBuffer* frame(int index, bool keyframe, GstClockTime base = GST_SECOND) {
  const guint8 nal[] = {0,
                        0,
                        0,
                        1,
                        0x09,
                        0xf0,
                        0,
                        0,
                        0,
                        1,
                        static_cast<guint8>(keyframe ? 0x65 : 0x41),
                        0x88,
                        0x84,
                        static_cast<guint8>(index),
                        0x21,
                        0xa0};
  GstBuffer* b = gst_buffer_new_memdup(nal, sizeof(nal));
  GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = base + index * kFrame;
  GST_BUFFER_DURATION(b) = kFrame;
  if (!keyframe) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  return b;
}

class SegmenterHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    // Properties first: the harness starts the element, and these are read at start.
    GstElement* seg = gst_element_factory_make("lpsegmenter", nullptr);
    ASSERT_NE(seg, nullptr);
    g_object_set(seg, "target-duration", static_cast<guint64>(GST_SECOND), "stream-id", "stream1",
                 nullptr);
    h.reset(gst_harness_new_with_element(seg, "video", "src"));
    gst_object_unref(seg);
    gst_harness_use_testclock(h.get());
    gst_harness_set_src_caps_str(h.get(), kCaps320);
  }
  void push(GstBuffer* b) { ASSERT_EQ(gst_harness_push(h.get(), b), GST_FLOW_OK); }
  /// Ends the stream and returns every segment produced.
  std::vector<test::BufferRef> finish() {
    EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
    for (;;) {
      GstEvent* e = gst_harness_pull_event(h.get());
      if (!e) {
        ADD_FAILURE() << "no EOS downstream";
        break;
      }
      const bool eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
      gst_event_unref(e);
      if (eos) break;
    }
    std::vector<test::BufferRef> out;
    while (GstBuffer* b = gst_harness_try_pull(h.get())) out.emplace_back(b);
    return out;
  }
  test::HarnessPtr h;
};

TEST_F(SegmenterHarness, Segments_GivenOneSecondGops_EachIsOneGopWithMeta) {
  for (int i = 0; i < 90; ++i) push(frame(i, i % 30 == 0));
  auto segs = finish();
  ASSERT_EQ(segs.size(), 3u);
  for (std::size_t s = 0; s < segs.size(); ++s) {
    GstBuffer* b = segs[s].get();
    LpSegmentMeta* m = lp_buffer_get_segment_meta(b);
    ASSERT_NE(m, nullptr);
    EXPECT_STREQ(m->stream_id, "stream1");
    EXPECT_EQ(m->seq, s);
    EXPECT_EQ(m->start_pts, GST_SECOND + s * 30 * kFrame);
    EXPECT_EQ(m->video_frames, 30u);
    EXPECT_EQ(m->flags, LP_SEGMENT_FLAG_NONE);
    EXPECT_EQ(GST_BUFFER_PTS(b), m->start_pts);
    // Whole MPEG-TS packets, starting with a sync byte.
    EXPECT_EQ(gst_buffer_get_size(b) % 188, 0u);
    guint8 first = 0;
    gst_buffer_extract(b, 0, &first, 1);
    EXPECT_EQ(first, 0x47);
  }
  // Durations run until the next segment's first frame; the last one until its last frame ends.
  EXPECT_EQ(GST_BUFFER_DURATION(segs[0].get()), 30 * kFrame);
  EXPECT_EQ(GST_BUFFER_DURATION(segs[2].get()), 30 * kFrame);
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  ASSERT_NE(caps, nullptr);
  EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/mpegts"));
  gst_caps_unref(caps);
}

TEST_F(SegmenterHarness, ForceKeyUnit_GivenNoKeyframeAtTarget_AsksUpstreamOnce) {
  for (int i = 0; i < 31; ++i) push(frame(i, i == 0));
  GstEvent* e = gst_harness_pull_upstream_event(h.get());
  while (e && !gst_video_event_is_force_key_unit(e)) {
    gst_event_unref(e);
    e = gst_harness_pull_upstream_event(h.get());
  }
  ASSERT_NE(e, nullptr);
  GstClockTime running = GST_CLOCK_TIME_NONE;
  gboolean all_headers = FALSE;
  guint count = 0;
  ASSERT_TRUE(gst_video_event_parse_upstream_force_key_unit(e, &running, &all_headers, &count));
  EXPECT_EQ(running, GST_SECOND + 30 * kFrame);  // the frame that reached the target
  EXPECT_TRUE(all_headers);
  EXPECT_EQ(count, 1u);
  gst_event_unref(e);
  // The encoder obliges: the keyframe cuts, and no frame was lost.
  push(frame(31, true));
  auto segs = finish();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(lp_buffer_get_segment_meta(segs[0].get())->video_frames, 31u);
  EXPECT_EQ(lp_buffer_get_segment_meta(segs[1].get())->video_frames, 1u);
  while (GstEvent* extra = gst_harness_try_pull_upstream_event(h.get())) {
    EXPECT_FALSE(gst_video_event_is_force_key_unit(extra)) << "asked twice for the same segment";
    gst_event_unref(extra);
  }
}

TEST_F(SegmenterHarness, Discont_GivenGapThenKeyframe_StartsMarkedSegment) {
  for (int i = 0; i < 10; ++i) push(frame(i, i == 0));
  GstBuffer* k = frame(100, true);
  GST_BUFFER_FLAG_SET(k, GST_BUFFER_FLAG_DISCONT);
  push(k);
  for (int i = 101; i < 105; ++i) push(frame(i, false));
  auto segs = finish();
  ASSERT_EQ(segs.size(), 2u);
  LpSegmentMeta* m = lp_buffer_get_segment_meta(segs[1].get());
  EXPECT_EQ(m->seq, 1u);
  EXPECT_EQ(m->flags & LP_SEGMENT_FLAG_DISCONT, LP_SEGMENT_FLAG_DISCONT);
  EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(segs[1].get(), GST_BUFFER_FLAG_DISCONT));
  EXPECT_EQ(m->video_frames, 5u);
  EXPECT_EQ(lp_buffer_get_segment_meta(segs[0].get())->video_frames, 10u);
}

TEST_F(SegmenterHarness, ResolutionChange_GivenNewCaps_NextKeyframeStartsMarkedSegment) {
  for (int i = 0; i < 10; ++i) push(frame(i, i == 0));
  gst_harness_set_src_caps_str(h.get(),
                               "video/x-h264, stream-format=byte-stream, alignment=au, width=640, "
                               "height=360, framerate=30/1");
  for (int i = 10; i < 20; ++i) push(frame(i, i == 10));
  auto segs = finish();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(lp_buffer_get_segment_meta(segs[1].get())->flags & LP_SEGMENT_FLAG_DISCONT,
            LP_SEGMENT_FLAG_DISCONT);
  EXPECT_EQ(lp_buffer_get_segment_meta(segs[1].get())->start_pts, GST_SECOND + 10 * kFrame);
}

TEST_F(SegmenterHarness, Timestamps_GivenFrameWithoutPts_PostsErrorNotCrash) {
  GstBuffer* b = frame(0, true);
  GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = GST_CLOCK_TIME_NONE;
  gst_harness_push(h.get(), b);
  // The error shows up on the bus and the stream stops: no segment comes out.
  gst_harness_push_event(h.get(), gst_event_new_eos());
  EXPECT_EQ(gst_harness_try_pull(h.get()), nullptr);
}

TEST(SegmenterClip, Gop2Clip_GivenTwoSecondIdrs_MakesNineSegmentsWithEveryFrame) {
  ClipRun run = segment_file(test::media("live-1080p30-h264-aac-16s-gop2.ts"), true);
  ASSERT_EQ(run.error, "");
  EXPECT_TRUE(run.warnings.empty());
  ASSERT_GE(run.segments.size(), 8u);
  ASSERT_LE(run.segments.size(), 9u);
  test::TempDir dir;
  int video = 0, audio = 0;
  std::string all = dir.file("all.ts");
  std::ofstream cat(all, std::ios::binary);
  for (std::size_t i = 0; i < run.segments.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    GstBuffer* b = run.segments[i].get();
    LpSegmentMeta* m = lp_buffer_get_segment_meta(b);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->seq, i);
    EXPECT_STREQ(m->stream_id, "clip");
    std::string f = dir.file("seg" + std::to_string(i) + ".ts");
    write(f, b);
    const int v = count_frames(f, "v:0");
    EXPECT_EQ(v, static_cast<int>(m->video_frames));
    video += v;
    audio += count_frames(f, "a:0");
    EXPECT_EQ(ffprobe("-select_streams v:0 -read_intervals %+#1 -show_entries frame=pict_type -of "
                      "csv=p=0 \"" +
                      f + "\""),
              "I");
    if (i + 1 < run.segments.size()) {
      EXPECT_NEAR(static_cast<double>(m->duration) / GST_SECOND, 2.0, 0.04);
    }
    std::ifstream in(f, std::ios::binary);
    cat << in.rdbuf();
  }
  cat.close();
  const std::string src = test::media("live-1080p30-h264-aac-16s-gop2.ts");
  EXPECT_EQ(video, count_frames(src, "v:0"));
  EXPECT_EQ(audio, count_frames(src, "a:0"));
  EXPECT_EQ(count_frames(all, "v:0"), video);
  // Concatenated, the segments are one continuous stream that decodes without an error.
  EXPECT_EQ(
      std::system(("ffmpeg -v error -xerror -i \"" + all + "\" -f null - 2>/dev/null").c_str()), 0);
}

TEST(SegmenterClip, LongGopClip_GivenKeyframesAt0And8s_MakesTwoSegmentsAndOneWarning) {
  ClipRun run = segment_file(test::media("live-1080p30-h264-aac-16s.ts"), true);
  ASSERT_EQ(run.error, "");
  ASSERT_EQ(run.segments.size(), 2u);
  ASSERT_EQ(run.warnings.size(), 1u);
  EXPECT_NE(run.warnings[0].find("Long GOP"), std::string::npos);
  guint frames = 0;
  for (auto& s : run.segments) frames += lp_buffer_get_segment_meta(s.get())->video_frames;
  EXPECT_EQ(frames, 500u);
  EXPECT_NEAR(
      static_cast<double>(lp_buffer_get_segment_meta(run.segments[0].get())->duration) / GST_SECOND,
      8.33, 0.05);
}

TEST(SegmenterClip, VideoOnlyClip_GivenNoAudioPad_Segments) {
  ClipRun run = segment_file(test::media("landscape-720p30-h264-2s.ts"), false);
  ASSERT_EQ(run.error, "");
  guint frames = 0;
  for (auto& s : run.segments) frames += lp_buffer_get_segment_meta(s.get())->video_frames;
  EXPECT_EQ(static_cast<int>(frames),
            count_frames(test::media("landscape-720p30-h264-2s.ts"), "v:0"));
  EXPECT_EQ(run.segments.size(), 1u);  // its second keyframe comes 0.83 s after the first
}

}  // namespace
}  // namespace lp
