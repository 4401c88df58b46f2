// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/transcode/profiles.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lp::media {

namespace {

using json = nlohmann::json;

Error bad(const std::string& msg) {
  return make_error(ErrorKind::invalid_input, "bad_profile", msg);
}

int even(double v) { return std::max(2, static_cast<int>(std::lround(v / 2.0)) * 2); }

Result<H264Profile> parse_h264_profile(const std::string& s) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (l.empty() || l == "none") return H264Profile::encoder_default;
  if (l == "h264baseline") return H264Profile::baseline;
  if (l == "h264main") return H264Profile::main;
  if (l == "h264high") return H264Profile::high;
  if (l == "h264constrainedhigh") return H264Profile::constrained_high;
  return bad("unknown profile '" + s +
             "' (h264baseline, h264main, h264high, h264constrainedhigh, none)");
}

Result<int> json_int(const json& j, const char* key, int fallback, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return bad(std::string("missing '") + key + "'");
    return fallback;
  }
  if (it->is_number_integer()) return it->get<int>();
  if (it->is_string()) {
    try {
      std::size_t used = 0;
      int v = std::stoi(it->get<std::string>(), &used);
      if (used == it->get<std::string>().size()) return v;
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): reported below
    }
  }
  return bad(std::string("'") + key + "' must be an integer");
}

Result<VideoProfile> profile_from_json(const json& j, std::size_t index) {
  auto where = [&](const std::string& m) {
    return bad("ladder entry " + std::to_string(index) + ": " + m);
  };
  if (!j.is_object()) return where("not an object");
  VideoProfile p;
  if (auto n = j.find("name"); n != j.end() && n->is_string()) p.name = n->get<std::string>();
  auto w = json_int(j, "width", 0, true);
  auto h = json_int(j, "height", 0, true);
  auto b = json_int(j, "bitrate", 0, true);
  auto f = json_int(j, "fps", 0, false);
  auto fd = json_int(j, "fpsDen", 1, false);
  for (auto* r : {&w, &h, &b, &f, &fd})
    if (!*r) return where(r->error().message);
  p.width = *w;
  p.height = *h;
  p.bitrate = *b;
  p.fps = *f;
  p.fps_den = *fd == 0 ? 1 : *fd;
  if (p.width <= 0 || p.height <= 0 || p.width > 8192 || p.height > 8192)
    return where("width and height must be 1..8192");
  if (p.bitrate <= 0) return where("bitrate must be positive (bits per second)");
  if (p.fps < 0 || p.fps_den < 0) return where("fps must not be negative");
  if (auto pr = j.find("profile"); pr != j.end() && pr->is_string()) {
    auto hp = parse_h264_profile(pr->get<std::string>());
    if (!hp) return where(hp.error().message);
    p.profile = *hp;
  }
  if (auto g = j.find("gop"); g != j.end() && !g->is_null()) {
    if (g->is_string() && g->get<std::string>() == "intra") {
      p.gop_ms = -1;
    } else {
      double seconds = 0;
      try {
        seconds = g->is_number() ? g->get<double>() : std::stod(g->get<std::string>());
      } catch (const std::exception&) {
        return where("gop must be seconds (\"2\") or \"intra\"");
      }
      if (seconds < 0) return where("gop must not be negative");
      p.gop_ms = static_cast<int>(std::lround(seconds * 1000));
    }
  }
  if (p.name.empty()) p.name = std::to_string(p.height) + "p" + std::to_string(index);
  return p;
}

}  // namespace

const std::vector<VideoProfile>& preset_profiles() {
  static const std::vector<VideoProfile> presets = {
      {"P720p60fps16x9", 1280, 720, 6'000'000, 60, 1, H264Profile::encoder_default, 0},
      {"P720p30fps16x9", 1280, 720, 4'000'000, 30, 1, H264Profile::encoder_default, 0},
      {"P720p25fps16x9", 1280, 720, 3'500'000, 25, 1, H264Profile::encoder_default, 0},
      {"P720p30fps4x3", 960, 720, 3'500'000, 30, 1, H264Profile::encoder_default, 0},
      {"P576p30fps16x9", 1024, 576, 1'500'000, 30, 1, H264Profile::encoder_default, 0},
      {"P576p25fps16x9", 1024, 576, 1'500'000, 25, 1, H264Profile::encoder_default, 0},
      {"P360p30fps16x9", 640, 360, 1'200'000, 30, 1, H264Profile::encoder_default, 0},
      {"P360p25fps16x9", 640, 360, 1'000'000, 25, 1, H264Profile::encoder_default, 0},
      {"P360p30fps4x3", 480, 360, 1'000'000, 30, 1, H264Profile::encoder_default, 0},
      {"P240p30fps16x9", 426, 240, 600'000, 30, 1, H264Profile::encoder_default, 0},
      {"P240p25fps16x9", 426, 240, 600'000, 25, 1, H264Profile::encoder_default, 0},
      {"P240p30fps4x3", 320, 240, 600'000, 30, 1, H264Profile::encoder_default, 0},
      {"P144p30fps16x9", 256, 144, 400'000, 30, 1, H264Profile::encoder_default, 0},
      {"P144p25fps16x9", 256, 144, 400'000, 25, 1, H264Profile::encoder_default, 0},
  };
  return presets;
}

Result<std::vector<VideoProfile>> parse_profiles(std::string_view spec) {
  std::string text(spec);
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return bad("no profiles given");
  if (text.size() > 5 && text.compare(text.size() - 5, 5, ".json") == 0) {
    std::ifstream in(text);
    if (!in) return bad("cannot read ladder file '" + text + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return bad("ladder file '" + std::string(spec) + "' is empty");
  }
  std::vector<VideoProfile> out;
  if (text[first] == '[' || text[first] == '{') {
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) return bad("ladder is not valid JSON");
    if (doc.is_object()) doc = json::array({doc});
    for (std::size_t i = 0; i < doc.size(); ++i) {
      auto p = profile_from_json(doc[i], i);
      if (!p) return p.error();
      out.push_back(*p);
    }
  } else {
    std::stringstream ss(text);
    std::string name;
    while (std::getline(ss, name, ',')) {
      name.erase(0, name.find_first_not_of(" \t\r\n"));
      name.erase(name.find_last_not_of(" \t\r\n") + 1);
      if (name.empty()) continue;
      auto it = std::find_if(preset_profiles().begin(), preset_profiles().end(),
                             [&](const VideoProfile& p) { return p.name == name; });
      if (it == preset_profiles().end())
        return bad("unknown preset '" + name + "' (for example P360p30fps16x9)");
      out.push_back(*it);
    }
  }
  if (out.empty()) return bad("no profiles given");
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t j = i + 1; j < out.size(); ++j)
      if (out[i].name == out[j].name)
        return bad("profile name '" + out[i].name + "' appears twice");
  return out;
}

std::pair<int, int> output_size(const VideoProfile& p, int src_width, int src_height) {
  const int longer = std::max(p.width, p.height);
  if (src_width <= 0 || src_height <= 0) return {p.width, p.height};
  if (src_width >= src_height)
    return {even(longer), even(static_cast<double>(longer) * src_height / src_width)};
  return {even(static_cast<double>(longer) * src_width / src_height), even(longer)};
}

}  // namespace lp::media
