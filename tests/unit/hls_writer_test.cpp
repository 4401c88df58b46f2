// SPDX-License-Identifier: LGPL-2.1-or-later
// HlsWriter alone (the playlist writer behind lphlssink), no GStreamer: the multivariant and
// media playlists byte for byte, the sliding window with its media sequence and deleted
// segments, EXT-X-DISCONTINUITY and its sequence, EXT-X-ENDLIST, and writes that never leave a
// partial playlist where a player reads.
#include "elements/gateway/hls_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/unit/test_util.h"

namespace lp::gw {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << p;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Everything left to read from an open descriptor, from its start.
std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  for (;;) {
    const ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return out;
}

const std::string kHead = "#EXTM3U\n#EXT-X-VERSION:3\n";  // NOLINT(cert-err58-cpp)

class HlsWriter_ : public ::testing::Test {
 protected:
  std::string media(const std::string& rendition) {
    return read(dir.path() / rendition / "index.m3u8");
  }
  std::string multivariant() { return read(dir.path() / "index.m3u8"); }
  bool has_segment(const std::string& rendition, std::int64_t seq) {
    return fs::exists(dir.path() / rendition / (std::to_string(seq) + ".ts"));
  }
  /// Adds segment seq of a rendition with `size` bytes (each byte the seq's low byte).
  void add(HlsWriter& w, const std::string& rendition, std::int64_t seq, double duration,
           std::size_t size = 100, int width = 0, int height = 0) {
    const std::string bytes(size, static_cast<char>(seq & 0xff));
    auto st = w.add(rendition, seq, bytes, duration, width, height);
    ASSERT_TRUE(st) << st.error().to_string();
  }

  test::TempDir dir;
};

TEST_F(HlsWriter_, Add_GivenTwoRenditions_WritesMultivariantInFirstSeenOrderAndMediaPlaylists) {
  HlsWriter w(dir.path().string(), 0);
  // 250'000 bytes over 2 s: 1'000'000 bits per second.
  add(w, "source", 0, 2.0, 250'000, 1280, 720);
  add(w, "240p", 0, 2.0, 50'000, 426, 240);
  add(w, "source", 1, 1.967, 200'000, 1280, 720);
  add(w, "240p", 1, 1.967, 40'000, 426, 240);

  EXPECT_EQ(multivariant(), kHead +
                                "#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=1280x720\n"
                                "source/index.m3u8\n"
                                "#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=426x240\n"
                                "240p/index.m3u8\n");
  EXPECT_EQ(media("source"), kHead +
                                 "#EXT-X-TARGETDURATION:2\n"
                                 "#EXT-X-MEDIA-SEQUENCE:0\n"
                                 "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                                 "#EXTINF:2.000,\n0.ts\n"
                                 "#EXTINF:1.967,\n1.ts\n");
  EXPECT_EQ(media("240p"), media("source"));
  EXPECT_EQ(read(dir.path() / "source" / "1.ts"), std::string(200'000, '\x01'));
  EXPECT_EQ(read(dir.path() / "240p" / "0.ts"), std::string(50'000, '\x00'));
  EXPECT_EQ(w.dir(), dir.path().string());
}

TEST_F(HlsWriter_, Add_GivenNoSize_AnnouncesNoResolution) {
  HlsWriter w(dir.path().string(), 0);
  add(w, "audio", 0, 2.0, 8'000);
  EXPECT_EQ(multivariant(), kHead + "#EXT-X-STREAM-INF:BANDWIDTH=32000\naudio/index.m3u8\n");
}

TEST_F(HlsWriter_, Add_GivenAHigherBitrateEarly_RaisesTheAnnouncedBandwidth) {
  HlsWriter w(dir.path().string(), 0);
  add(w, "source", 0, 2.0, 100'000, 1280, 720);  // 400'000 b/s
  add(w, "source", 1, 2.0, 50'000, 1280, 720);   // lower: the peak stays
  EXPECT_EQ(multivariant(),
            kHead + "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=1280x720\nsource/index.m3u8\n");
  add(w, "source", 2, 1.0, 100'000, 1280, 720);  // 800'000 b/s
  EXPECT_EQ(multivariant(),
            kHead + "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720\nsource/index.m3u8\n");
}

TEST_F(HlsWriter_, TargetDuration_GivenSegmentDurations_IsTheLongestRoundedUp) {
  HlsWriter w(dir.path().string(), 0);
  add(w, "r", 0, 0.5);
  EXPECT_NE(media("r").find("#EXT-X-TARGETDURATION:1\n"), std::string::npos) << media("r");
  add(w, "r", 1, 2.2);
  add(w, "r", 2, 1.5);
  EXPECT_EQ(media("r"), kHead +
                            "#EXT-X-TARGETDURATION:3\n"
                            "#EXT-X-MEDIA-SEQUENCE:0\n"
                            "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                            "#EXTINF:0.500,\n0.ts\n"
                            "#EXTINF:2.200,\n1.ts\n"
                            "#EXTINF:1.500,\n2.ts\n");
}

TEST_F(HlsWriter_, Window_GivenMoreSegments_SlidesWithTheMediaSequenceAndDeletesOldSegments) {
  HlsWriter w(dir.path().string(), 3);
  for (std::int64_t seq = 0; seq < 6; ++seq) add(w, "r", seq, 2.0);
  EXPECT_EQ(media("r"), kHead +
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:3\n"
                            "#EXTINF:2.000,\n3.ts\n"
                            "#EXTINF:2.000,\n4.ts\n"
                            "#EXTINF:2.000,\n5.ts\n");
  // Segments that left the window stay on disk for a window's length (a player may still be
  // fetching them), then go.
  for (std::int64_t seq = 0; seq < 6; ++seq) EXPECT_TRUE(has_segment("r", seq)) << seq;
  add(w, "r", 6, 2.0);
  EXPECT_FALSE(has_segment("r", 0));
  for (std::int64_t seq = 1; seq <= 6; ++seq) EXPECT_TRUE(has_segment("r", seq)) << seq;
  add(w, "r", 7, 2.0);
  add(w, "r", 8, 2.0);
  EXPECT_FALSE(has_segment("r", 1));
  EXPECT_FALSE(has_segment("r", 2));
  EXPECT_TRUE(has_segment("r", 3));
  EXPECT_EQ(media("r"), kHead +
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:6\n"
                            "#EXTINF:2.000,\n6.ts\n"
                            "#EXTINF:2.000,\n7.ts\n"
                            "#EXTINF:2.000,\n8.ts\n");
}

TEST_F(HlsWriter_, Window_GivenRenditionsAtDifferentPaces_SlidesEachOnItsOwn) {
  HlsWriter w(dir.path().string(), 2);
  for (std::int64_t seq = 0; seq < 5; ++seq) add(w, "a", seq, 2.0);
  add(w, "b", 0, 2.0);
  EXPECT_NE(media("a").find("#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2.000,\n3.ts\n"), std::string::npos)
      << media("a");
  EXPECT_NE(media("b").find("#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.000,\n0.ts\n"), std::string::npos)
      << media("b");
}

TEST_F(HlsWriter_, Finish_GivenRenditions_EndsEveryMediaPlaylist) {
  HlsWriter w(dir.path().string(), 0);
  add(w, "source", 0, 2.0);
  add(w, "240p", 0, 2.0);
  add(w, "source", 1, 1.0);
  const std::string mv = multivariant();
  auto st = w.finish();
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(media("source"), kHead +
                                 "#EXT-X-TARGETDURATION:2\n"
                                 "#EXT-X-MEDIA-SEQUENCE:0\n"
                                 "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                                 "#EXTINF:2.000,\n0.ts\n"
                                 "#EXTINF:1.000,\n1.ts\n"
                                 "#EXT-X-ENDLIST\n");
  EXPECT_EQ(media("240p"), kHead +
                               "#EXT-X-TARGETDURATION:2\n"
                               "#EXT-X-MEDIA-SEQUENCE:0\n"
                               "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                               "#EXTINF:2.000,\n0.ts\n"
                               "#EXT-X-ENDLIST\n");
  EXPECT_EQ(multivariant(), mv);
}

TEST_F(HlsWriter_, Finish_GivenASlidingWindow_EndsTheWindow) {
  HlsWriter w(dir.path().string(), 2);
  for (std::int64_t seq = 0; seq < 4; ++seq) add(w, "r", seq, 2.0);
  ASSERT_TRUE(w.finish());
  EXPECT_EQ(media("r"), kHead +
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:2\n"
                            "#EXTINF:2.000,\n2.ts\n"
                            "#EXTINF:2.000,\n3.ts\n"
                            "#EXT-X-ENDLIST\n");
}

TEST_F(HlsWriter_, Discontinuity_GivenAGap_MarksEachRenditionsNextSegmentAndCountsItOut) {
  HlsWriter w(dir.path().string(), 2);
  add(w, "a", 0, 2.0);
  add(w, "b", 0, 2.0);
  add(w, "a", 1, 2.0);
  add(w, "b", 1, 2.0);
  w.discontinuity();
  add(w, "a", 2, 2.0);
  add(w, "b", 2, 2.0);
  const std::string marked = kHead +
                             "#EXT-X-TARGETDURATION:2\n"
                             "#EXT-X-MEDIA-SEQUENCE:1\n"
                             "#EXTINF:2.000,\n1.ts\n"
                             "#EXT-X-DISCONTINUITY\n"
                             "#EXTINF:2.000,\n2.ts\n";
  EXPECT_EQ(media("a"), marked);
  EXPECT_EQ(media("b"), marked);
  // Only the first segment after the gap carries the tag.
  add(w, "a", 3, 2.0);
  EXPECT_EQ(media("a"), kHead +
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:2\n"
                            "#EXT-X-DISCONTINUITY\n"
                            "#EXTINF:2.000,\n2.ts\n"
                            "#EXTINF:2.000,\n3.ts\n");
  // When the tagged segment leaves the window, EXT-X-DISCONTINUITY-SEQUENCE counts it.
  add(w, "a", 4, 2.0);
  EXPECT_EQ(media("a"), kHead +
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:3\n"
                            "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
                            "#EXTINF:2.000,\n3.ts\n"
                            "#EXTINF:2.000,\n4.ts\n");
  EXPECT_EQ(media("b"), marked);
}

// Issue 14: a pushed stream that skips a number (0, 1, then 3) continues after a gap.
TEST_F(HlsWriter_, Discontinuity_GivenAGapInTheNumbers_MarksTheSegmentAfterIt) {
  HlsWriter w(dir.path().string(), 0);
  add(w, "a", 0, 2.0);
  add(w, "a", 1, 2.0);
  add(w, "a", 3, 2.0);
  add(w, "a", 4, 2.0);
  EXPECT_EQ(media("a"), kHead +
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-MEDIA-SEQUENCE:0\n"
                            "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                            "#EXTINF:2.000,\n0.ts\n"
                            "#EXTINF:2.000,\n1.ts\n"
                            "#EXT-X-DISCONTINUITY\n"
                            "#EXTINF:2.000,\n3.ts\n"
                            "#EXTINF:2.000,\n4.ts\n");
}

TEST_F(HlsWriter_, Add_GivenAnUnusableRenditionName_RefusesAndWritesNothing) {
  HlsWriter w(dir.path().string(), 0);
  for (const std::string name : {"", "a/b", ".", "..", "/abs"}) {
    auto st = w.add(name, 0, "x", 2.0, 0, 0);
    ASSERT_FALSE(st) << name;
    EXPECT_EQ(st.error().code, "bad_rendition_name") << name;
    EXPECT_EQ(st.error().kind, ErrorKind::invalid_input) << name;
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST_F(HlsWriter_, Add_GivenAPlaylistThatCannotBeReplaced_FailsWithWriteFailed) {
  fs::create_directories(dir.path() / "r" / "index.m3u8" / "occupied");
  HlsWriter w(dir.path().string(), 0);
  auto st = w.add("r", 0, "x", 2.0, 0, 0);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "write_failed");
  EXPECT_EQ(st.error().kind, ErrorKind::fatal);
  EXPECT_NE(st.error().message.find("index.m3u8"), std::string::npos) << st.error().message;
  // The rename failed; its temporary file is not left behind.
  EXPECT_FALSE(fs::exists(dir.path() / "r" / "index.m3u8.tmp"));
}

TEST_F(HlsWriter_, Write_GivenAReaderHoldingThePlaylist_ReplacesItWholeNeverInPlace) {
  HlsWriter w(dir.path().string(), 0);
  add(w, "r", 0, 2.0);
  const fs::path playlist = dir.path() / "r" / "index.m3u8";
  const std::string before = media("r");
  // A player that opened the playlist before a write keeps reading the complete old text: the
  // new one is a new file renamed over the name, not the old file truncated and rewritten.
  const int fd = open(playlist.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const int mv_fd = open((dir.path() / "index.m3u8").c_str(), O_RDONLY);
  ASSERT_GE(mv_fd, 0);
  const std::string mv_before = multivariant();
  add(w, "r", 1, 2.0);
  add(w, "other", 0, 2.0);  // rewrites the multivariant playlist
  ASSERT_TRUE(w.finish());
  EXPECT_EQ(read_fd(fd), before);
  EXPECT_EQ(read_fd(mv_fd), mv_before);
  close(fd);
  close(mv_fd);
  EXPECT_NE(media("r"), before);
  EXPECT_NE(media("r").find("1.ts\n#EXT-X-ENDLIST\n"), std::string::npos);
  // No temporary file is left beside the playlists.
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
}

TEST_F(HlsWriter_, Write_GivenAConcurrentReader_EveryReadIsACompletePlaylist) {
  HlsWriter w(dir.path().string(), 5);
  add(w, "r", 0, 2.0);
  const fs::path playlist = dir.path() / "r" / "index.m3u8";
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::ifstream in(playlist, std::ios::binary);
      if (!in) {
        ADD_FAILURE() << "the playlist was missing while being rewritten";
        return;
      }
      std::ostringstream s;
      s << in.rdbuf();
      const std::string text = s.str();
      ++reads;
      // Complete: the header, whole lines, as many URIs as EXTINF lines, at least one.
      std::size_t extinf = 0, uris = 0, pos = 0;
      while ((pos = text.find("#EXTINF:", pos)) != std::string::npos) ++extinf, ++pos;
      pos = 0;
      while ((pos = text.find(".ts\n", pos)) != std::string::npos) ++uris, ++pos;
      if (text.rfind(kHead, 0) != 0 || text.back() != '\n' || extinf != uris || extinf == 0 ||
          extinf > 5) {
        ADD_FAILURE() << "a partial playlist was visible:\n" << text;
        return;
      }
    }
  });
  for (std::int64_t seq = 1; seq < 400; ++seq) add(w, "r", seq, 2.0, 10);
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_NE(media("r").find("#EXT-X-MEDIA-SEQUENCE:395\n"), std::string::npos) << media("r");
}

TEST(WriteFileAtomic, GivenAnExistingFile_ReplacesItsWholeContent) {
  test::TempDir dir;
  const std::string p = dir.file("f.txt");
  ASSERT_TRUE(write_file_atomic(p, "a longer first content\n"));
  ASSERT_TRUE(write_file_atomic(p, "short\n"));
  EXPECT_EQ(read(p), "short\n");
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  auto st = write_file_atomic(dir.file("missing/f.txt"), "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "write_failed");
}

}  // namespace
}  // namespace lp::gw
