// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elements/common/gst_ptr.h"

namespace lp::media {

/// The elementary streams of one MPEG-TS segment.
struct DemuxedSegment {
  gst::CapsPtr video_caps;  ///< parsed H.264, byte-stream, AU-aligned
  std::vector<gst::BufferPtr> video;
  gst::CapsPtr audio_caps;  ///< ADTS AAC, when the segment has audio
  std::vector<gst::BufferPtr> audio;
};

/// mpegtsmux writes PTS as running time plus this (its CLOCK_BASE).
inline constexpr GstClockTime kMpegTsMuxBase = 3600 * GST_SECOND;

/// Why a buffer cannot be a whole MPEG-TS segment (empty, no sync byte, a partial last
/// packet), or nullopt.
std::optional<std::string> check_ts_framing(GstBuffer* segment);

/// The smallest PTS of the video PES headers in an MPEG-TS buffer, in 90 kHz units.
std::optional<std::uint64_t> first_video_pts_90k(GstBuffer* segment);

/// Splits one MPEG-TS segment into parsed H.264 access units and AAC frames, with a fresh
/// tsdemux per segment (appsrc -> tsdemux -> h264parse/aacparse -> appsinks). A segment that
/// is not MPEG-TS, is truncated beyond use, or has no H.264 video gives an error, never a hang.
/// Timestamps are the segment's own (its PTS as mpegtsmux would write them back), so that
/// consecutive segments continue one another.
class SegmentDemuxer {
 public:
  /// nullopt-like: returns false with *error set.
  bool demux(GstBuffer* segment, DemuxedSegment* out, std::string* error);
};

}  // namespace lp::media
