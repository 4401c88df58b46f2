// SPDX-License-Identifier: LGPL-2.1-or-later
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
  TranscodeEngine engine({ladder(R"([{"name":"240p0","width":426,"height":240,"bitrate":250000,"profile":"h264constrainedhigh","gop":"1"},
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
      std::string info = ffprobe("-select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 \"" + f + "\"");
      EXPECT_EQ(info.substr(0, info.find('\n')),
                "h264," + std::to_string(sizes[r][0]) + "," + std::to_string(sizes[r][1]));
      EXPECT_EQ(ffprobe("-select_streams v:0 -read_intervals %+#1 -show_entries frame=pict_type,key_frame -of csv=p=0 \"" + f + "\""), "1,I");
    }
  }
  EXPECT_EQ(engine.builds(), 1);  // one pipeline for the whole stream
  EXPECT_EQ(engine.decoder(), "avdec_h264");
  EXPECT_EQ(engine.encoder(), "x264enc");
}

TEST(TranscodeEngine, Garbage_GivenRandomBytes_FailsWithMessage) {
  std::vector<guint8> junk(188 * 50);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<guint8>(i * 131 + 7);
  test::BufferRef b(gst_buffer_new_memdup(junk.data(), junk.size()));
  TranscodeEngine engine({ladder("P240p30fps16x9"), GpuMode::off, "ultrafast"});
  std::vector<Rendition> out;
  std::string error;
  EXPECT_FALSE(engine.transcode(b.get(), &out, &error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace lp::media
