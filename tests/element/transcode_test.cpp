// SPDX-License-Identifier: LGPL-2.1-or-later
#include <cstdlib>

#include "elements/lpmeta.h"
#include "elements/transcode/transcode_engine.h"
#include "tests/element/media_util.h"
#include "tests/unit/test_util.h"

namespace lp::media {
namespace {

using test::count_frames;
using test::ffprobe;

std::vector<VideoProfile> ladder(const char* spec) { return parse_profiles(spec).value(); }

TEST(TranscodeEngine, Gop2Clip_GivenTwoRungs_EveryRenditionMatchesItsSegment) {
  test::ClipRun run = test::segment_file(test::media("live-1080p30-h264-aac-16s-gop2.ts"), true);
  ASSERT_EQ(run.error, "");
  TranscodeEngine engine(
      {ladder(
           R"([{"name":"240p0","width":426,"height":240,"bitrate":250000,"profile":"h264constrainedhigh","gop":"1"},
                                     {"name":"360p0","width":640,"height":360,"bitrate":800000,"profile":"h264constrainedhigh","gop":"1"}])"),
       GpuMode::off, "ultrafast"});
  test::TempDir dir;
  for (std::size_t i = 0; i < run.segments.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    std::vector<Rendition> out;
    std::string error;
    ASSERT_TRUE(engine.transcode(run.segments[i].get(), &out, &error)) << error;
    ASSERT_EQ(out.size(), 2u);
    const unsigned frames = lp_buffer_get_segment_meta(run.segments[i].get())->video_frames;
    const int sizes[2][2] = {{426, 240}, {640, 360}};
    for (std::size_t r = 0; r < out.size(); ++r) {
      EXPECT_EQ(out[r].frames, frames);
      EXPECT_EQ(out[r].width, sizes[r][0]);
      EXPECT_EQ(out[r].height, sizes[r][1]);
      EXPECT_EQ(out[r].pixels, static_cast<std::uint64_t>(frames) * sizes[r][0] * sizes[r][1]);
      std::string f = dir.file("r" + std::to_string(i) + "_" + std::to_string(r) + ".ts");
      test::write(f, out[r].ts.get());
      EXPECT_EQ(count_frames(f, "v:0"), static_cast<int>(frames));
      EXPECT_GT(count_frames(f, "a:0"), 0);
      std::string info = ffprobe(
          "-select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 \"" + f +
          "\"");
      EXPECT_EQ(info.substr(0, info.find('\n')),
                "h264," + std::to_string(sizes[r][0]) + "," + std::to_string(sizes[r][1]));
      EXPECT_EQ(ffprobe("-select_streams v:0 -read_intervals %+#1 -show_entries "
                        "frame=pict_type,key_frame -of csv=p=0 \"" +
                        f + "\""),
                "1,I");
    }
  }
  EXPECT_EQ(engine.builds(), 1);  // one pipeline for the whole stream
  EXPECT_EQ(engine.decoder(), "avdec_h264");
  EXPECT_EQ(engine.encoder(), "x264enc");
}

TEST(TranscodeEngine, Garbage_GivenRandomBytes_FailsWithMessage) {
  std::vector<guint8> junk(std::size_t{188} * 50);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<guint8>(i * 131 + 7);
  test::BufferRef b(gst_buffer_new_memdup(junk.data(), junk.size()));
  TranscodeEngine engine({ladder("P240p30fps16x9"), GpuMode::off, "ultrafast"});
  std::vector<Rendition> out;
  std::string error;
  EXPECT_FALSE(engine.transcode(b.get(), &out, &error));
  EXPECT_FALSE(error.empty());
}

TEST(TranscodeEngine, FrameRate_Given60fpsSourceAnd30fpsProfile_KeepsEveryOtherFrame) {
  test::TempDir dir;
  const std::string clip = dir.file("60fps.ts");
  ASSERT_EQ(
      std::system(
          ("ffmpeg -v error -y -f lavfi -i testsrc=size=640x360:rate=60 -t 2 -c:v libx264 -preset "
           "ultrafast -g 60 -bf 0 \"" +
           clip + "\"")
              .c_str()),
      0);
  test::ClipRun run = test::segment_file(clip, false);
  ASSERT_EQ(run.error, "");
  ASSERT_FALSE(run.segments.empty());
  VideoProfile p = ladder("P240p30fps16x9").front();
  TranscodeEngine engine({{p}, GpuMode::off, "ultrafast"});
  unsigned in = 0, out_frames = 0;
  for (auto& seg : run.segments) {
    std::vector<Rendition> out;
    std::string error;
    ASSERT_TRUE(engine.transcode(seg.get(), &out, &error)) << error;
    in += lp_buffer_get_segment_meta(seg.get())->video_frames;
    out_frames += out[0].frames;
    std::string f = dir.file("r.ts");
    test::write(f, out[0].ts.get());
    const std::string rate =
        ffprobe("-select_streams v:0 -show_entries stream=r_frame_rate -of csv=p=0 \"" + f + "\"");
    EXPECT_EQ(rate.substr(0, rate.find('\n')), "30/1");
  }
  EXPECT_EQ(in, 120u);
  EXPECT_EQ(out_frames, 60u);
}

TEST(TranscodeEngine, Truncated_GivenSegmentCutMidPacket_FailsNamingIt) {
  test::ClipRun run = test::segment_file(test::media("landscape-720p30-h264-2s.ts"), false);
  ASSERT_FALSE(run.segments.empty());
  GstBuffer* whole = run.segments[0].get();
  test::BufferRef cut(
      gst_buffer_copy_region(whole, GST_BUFFER_COPY_ALL, 0, gst_buffer_get_size(whole) / 2 + 1));
  TranscodeEngine engine({ladder("P240p30fps16x9"), GpuMode::off, "ultrafast"});
  std::vector<Rendition> out;
  std::string error;
  EXPECT_FALSE(engine.transcode(cut.get(), &out, &error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  // The engine is still usable for the next, whole segment.
  EXPECT_TRUE(engine.transcode(whole, &out, &error)) << error;
}

/* lptranscode through GstHarness: request pads, metas and pixel counts. */
class TranscodeHarness : public ::testing::Test {
 protected:
  static GstElement* make(const char* profiles) {
    GstElement* e = gst_element_factory_make("lptranscode", nullptr);
    g_object_set(e, "profiles", profiles, "speed-preset", "ultrafast", "gpu", 2 /* off */, nullptr);
    return e;
  }
};

TEST_F(TranscodeHarness, Pads_GivenRequests_OnePerProfileIndexNoDuplicates) {
  test::ElementRef e(GST_ELEMENT(gst_object_ref_sink(make("P240p30fps16x9,P360p30fps16x9"))));
  GstPad* a = gst_element_request_pad_simple(e.get(), "src_1");
  ASSERT_NE(a, nullptr);
  EXPECT_STREQ(GST_PAD_NAME(a), "src_1");
  EXPECT_EQ(gst_element_request_pad_simple(e.get(), "video_0"), nullptr);
  gst_element_release_request_pad(e.get(), a);
  gst_object_unref(a);
  GstPad* again = gst_element_request_pad_simple(e.get(), "src_1");
  EXPECT_NE(again, nullptr);  // released pads can be requested again
  gst_element_release_request_pad(e.get(), again);
  gst_object_unref(again);
}

TEST_F(TranscodeHarness, Metas_GivenSegments_OneRenditionPerSegmentWithPixelCount) {
  test::ClipRun run = test::segment_file(test::media("live-1080p30-h264-aac-16s-gop2.ts"), true);
  ASSERT_EQ(run.error, "");
  ASSERT_GE(run.segments.size(), 3u);
  // The harness sits on the second profile's pad: pads are per profile index.
  test::HarnessPtr h(
      gst_harness_new_with_element(make("P240p30fps16x9,P360p30fps16x9"), "sink", "src_1"));
  gst_harness_set_src_caps_str(h.get(),
                               "video/mpegts, systemstream=(boolean)true, packetsize=(int)188");
  // A segment's renditions leave when the next segment arrives (the decoder starts on it while
  // the encoders finish), the last ones at EOS.
  for (std::size_t i = 0; i < 3; ++i)
    ASSERT_EQ(gst_harness_push(h.get(), gst_buffer_ref(run.segments[i].get())), GST_FLOW_OK);
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    GstBuffer* in = run.segments[i].get();
    const LpSegmentMeta* sm = lp_buffer_get_segment_meta(in);
    test::BufferRef out(gst_harness_pull(h.get()));
    ASSERT_TRUE(out);
    const LpRenditionMeta* rm = lp_buffer_get_rendition_meta(out.get());
    ASSERT_NE(rm, nullptr);
    EXPECT_EQ(rm->seq, sm->seq);
    EXPECT_STREQ(rm->profile, "P360p30fps16x9");
    EXPECT_EQ(rm->width, 640);
    EXPECT_EQ(rm->height, 360);
    EXPECT_EQ(rm->frames, sm->video_frames);
    EXPECT_EQ(rm->pixels, static_cast<guint64>(rm->frames) * 640 * 360);
    EXPECT_EQ(rm->orchestrator, nullptr);  // transcoded here
    const LpSegmentMeta* out_sm = lp_buffer_get_segment_meta(out.get());
    ASSERT_NE(out_sm, nullptr);  // the source segment's meta travels with its renditions
    EXPECT_EQ(out_sm->seq, sm->seq);
    EXPECT_EQ(out_sm->start_pts, sm->start_pts);
    EXPECT_EQ(GST_BUFFER_PTS(out.get()), GST_BUFFER_PTS(in));
    test::TempDir dir;
    std::string f = dir.file("r.ts");
    test::write(f, out.get());
    EXPECT_EQ(count_frames(f, "v:0"), static_cast<int>(sm->video_frames));
  }
  gchar* decoder = nullptr;
  g_object_get(h->element, "decoder", &decoder, nullptr);
  EXPECT_STREQ(decoder, "avdec_h264");
  g_free(decoder);
  EXPECT_EQ(gst_harness_buffers_in_queue(h.get()), 0u);  // exactly one rendition per segment
}

TEST_F(TranscodeHarness, Garbage_GivenRandomBytes_ErrorNotCrash) {
  test::HarnessPtr h(gst_harness_new_with_element(make("P240p30fps16x9"), "sink", "src_0"));
  gst_harness_set_src_caps_str(h.get(),
                               "video/mpegts, systemstream=(boolean)true, packetsize=(int)188");
  std::vector<guint8> junk(std::size_t{188} * 20, 0x47);
  EXPECT_EQ(gst_harness_push(h.get(), gst_buffer_new_memdup(junk.data(), junk.size())),
            GST_FLOW_ERROR);
}

TEST_F(TranscodeHarness, Profiles_GivenUnknownPreset_FailsToStart) {
  test::ElementRef p(gst_pipeline_new(nullptr));
  GstElement* e = make("P999p30fps16x9");
  gst_bin_add(GST_BIN(p.get()), e);
  EXPECT_EQ(gst_element_set_state(p.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  test::BusRef bus(gst_element_get_bus(p.get()));
  GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR);
  ASSERT_NE(m, nullptr);
  GError* err = nullptr;
  gst_message_parse_error(m, &err, nullptr);
  EXPECT_NE(std::string(err->message).find("P999p30fps16x9"), std::string::npos) << err->message;
  g_clear_error(&err);
  gst_message_unref(m);
  gst_element_set_state(p.get(), GST_STATE_NULL);
}

}  // namespace
}  // namespace lp::media
