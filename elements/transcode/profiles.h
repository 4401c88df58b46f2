// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "payment/common/result.h"

namespace lp::media {

enum class H264Profile { encoder_default, baseline, main, high, constrained_high };

/// One rung of a ladder, as go-livepeer's VideoProfile and its ladder JSON describe it.
struct VideoProfile {
  std::string name;
  int width = 0;
  int height = 0;
  int bitrate = 0;  ///< bits per second
  int fps = 0;      ///< 0: keep the source's frame rate
  int fps_den = 1;
  H264Profile profile = H264Profile::encoder_default;
  int gop_ms = 0;  ///< 0: encoder default; -1: every frame a keyframe
};

/// go-livepeer's presets (lpms videoprofile.go), by name.
const std::vector<VideoProfile>& preset_profiles();

/// Profiles from a comma-separated list of preset names, from ladder JSON text (an array of
/// {name,width,height,bitrate,fps,fpsDen,profile,gop}), or from a file holding that JSON
/// (any argument ending in ".json"). Errors name the bad entry.
Result<std::vector<VideoProfile>> parse_profiles(std::string_view spec);

/// Output size for a source, the lpms way: the larger requested dimension becomes the larger
/// output dimension, the other follows the source's aspect ratio; both rounded to even.
std::pair<int, int> output_size(const VideoProfile& p, int src_width, int src_height);

}  // namespace lp::media
