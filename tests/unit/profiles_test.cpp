// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/transcode/profiles.h"

#include <gtest/gtest.h>

#include <fstream>

namespace lp::media {
namespace {

TEST(Profiles, Presets_GivenGoLivepeerNames_MatchLpms) {
  auto p = parse_profiles("P240p30fps16x9, P720p60fps16x9,P144p25fps16x9");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].name, "P240p30fps16x9");
  EXPECT_EQ((*p)[0].width, 426);
  EXPECT_EQ((*p)[0].height, 240);
  EXPECT_EQ((*p)[0].bitrate, 600000);
  EXPECT_EQ((*p)[0].fps, 30);
  EXPECT_EQ((*p)[1].bitrate, 6000000);
  EXPECT_EQ((*p)[1].fps, 60);
  EXPECT_EQ((*p)[2].width, 256);
  EXPECT_EQ(preset_profiles().size(), 14u);
}

TEST(Profiles, Presets_GivenUnknownName_ErrorNamesIt) {
  auto p = parse_profiles("P240p30fps16x9,P999p");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("'P999p'"), std::string::npos) << p.error().message;
  EXPECT_FALSE(parse_profiles(""));
  EXPECT_FALSE(parse_profiles(" , "));
  EXPECT_FALSE(parse_profiles("P240p30fps16x9,P240p30fps16x9"));  // names must be unique
}

TEST(Profiles, LadderJson_GivenGoLivepeerFields_ParsesEveryOne) {
  auto p = parse_profiles(
      R"([{"name":"a","width":854,"height":480,"bitrate":1600000,"fps":24,"fpsDen":1001,
                               "profile":"h264Baseline","gop":"2.5"},
                              {"width":640,"height":360,"bitrate":"800000","gop":"intra","profile":"none"},
                              {"name":"c","width":426,"height":240,"bitrate":250000,"fps":0}])");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].fps, 24);
  EXPECT_EQ((*p)[0].fps_den, 1001);
  EXPECT_EQ((*p)[0].profile, H264Profile::baseline);
  EXPECT_EQ((*p)[0].gop_ms, 2500);
  EXPECT_EQ((*p)[1].name, "360p1");  // unnamed entries get height + index
  EXPECT_EQ((*p)[1].bitrate, 800000);
  EXPECT_EQ((*p)[1].gop_ms, -1);
  EXPECT_EQ((*p)[1].profile, H264Profile::encoder_default);
  EXPECT_EQ((*p)[2].fps, 0);  // passthrough
  EXPECT_EQ((*p)[2].gop_ms, 0);
}

TEST(Profiles, LadderJson_GivenBadEntries_ErrorNamesTheEntry) {
  struct Case {
    const char* json;
    const char* says;
  } cases[] = {
      {R"([{"width":640,"height":360,"bitrate":1}, {"height":360,"bitrate":1}])",
       "ladder entry 1: missing 'width'"},
      {R"([{"width":640,"height":360,"bitrate":0}])", "bitrate must be positive"},
      {R"([{"width":-2,"height":360,"bitrate":5}])", "width and height"},
      {R"([{"width":640,"height":360,"bitrate":5,"profile":"h265main"}])",
       "unknown profile 'h265main'"},
      {R"([{"width":640,"height":360,"bitrate":5,"gop":"soon"}])", "gop must be seconds"},
      {R"([{"width":"wide","height":360,"bitrate":5}])", "'width' must be an integer"},
      {R"([3])", "ladder entry 0: not an object"},
      {R"([{"width":640,)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto p = parse_profiles(c.json);
    ASSERT_FALSE(p) << c.json;
    EXPECT_NE(p.error().message.find(c.says), std::string::npos)
        << c.json << " -> " << p.error().message;
  }
}

TEST(Profiles, LadderFile_GivenReferenceLadder_FourRungs) {
  auto p =
      parse_profiles(std::string(LP_SOURCE_DIR) + "/pipelines/ladders/livepeer-reference.json");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->size(), 4u);
  const int bitrates[] = {250000, 800000, 1600000, 3000000};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*p)[i].bitrate, bitrates[i]);
    EXPECT_EQ((*p)[i].fps, 0);
    EXPECT_EQ((*p)[i].profile, H264Profile::constrained_high);
    EXPECT_EQ((*p)[i].gop_ms, 1000);
  }
  auto d =
      parse_profiles(std::string(LP_SOURCE_DIR) + "/pipelines/ladders/go-livepeer-default.json");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_FALSE(parse_profiles("/nonexistent/ladder.json"));
}

TEST(Profiles, OutputSize_GivenLandscapePortraitAndSquare_FitsTheLargerDimension) {
  const VideoProfile p360{"360p", 640, 360, 800000};
  EXPECT_EQ(output_size(p360, 1920, 1080), std::make_pair(640, 360));
  EXPECT_EQ(output_size(p360, 720, 1280), std::make_pair(360, 640));  // portrait keeps its aspect
  EXPECT_EQ(output_size(p360, 1080, 1080),
            std::make_pair(640, 640));  // square: the larger dimension
  EXPECT_EQ(output_size(p360, 1440, 1080), std::make_pair(640, 480));  // 4:3 source
  const VideoProfile p240{"240p", 426, 240, 250000};
  EXPECT_EQ(output_size(p240, 720, 1280), std::make_pair(240, 426));  // 239.6 rounds to even 240
  EXPECT_EQ(output_size(p240, 1920, 1080), std::make_pair(426, 240));
  EXPECT_EQ(output_size(p240, 0, 0), std::make_pair(426, 240));  // unknown source: as requested
  for (int w : {1917, 1279, 853})
    for (int h : {1079, 719, 481}) {
      auto [ow, oh] = output_size(p360, w, h);
      EXPECT_EQ(ow % 2, 0);
      EXPECT_EQ(oh % 2, 0);
    }
}

}  // namespace
}  // namespace lp::media
