// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

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

/// Splits one MPEG-TS segment into parsed H.264 access units and AAC frames, with a fresh
/// tsdemux per segment (appsrc -> tsdemux -> h264parse/aacparse -> appsinks). A segment that
/// is not MPEG-TS, is truncated beyond use, or has no H.264 video gives an error, never a hang.
class SegmentDemuxer {
 public:
  /// nullopt-like: returns false with *error set.
  bool demux(GstBuffer* segment, DemuxedSegment* out, std::string* error);
};

}  // namespace lp::media
