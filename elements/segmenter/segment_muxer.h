// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

#include "elements/common/gst_ptr.h"

namespace lp::media {

/// Muxes the frames of one segment into one MPEG-TS buffer with mpegtsmux, in a small internal
/// pipeline (appsrc video [+ appsrc audio] -> mpegtsmux -> appsink). Timestamps keep their
/// stream time, so consecutive segments carry continuous PTS/DTS. Not thread-safe: one
/// streaming thread uses it.
class SegmentMuxer {
 public:
  SegmentMuxer() = default;
  ~SegmentMuxer();
  SegmentMuxer(const SegmentMuxer&) = delete;
  SegmentMuxer& operator=(const SegmentMuxer&) = delete;

  /// Returns the muxed segment, or nullptr with *error set.
  GstBuffer* mux(GstCaps* video_caps, const std::vector<gst::BufferPtr>& video, GstCaps* audio_caps,
                 const std::vector<gst::BufferPtr>& audio, std::string* error);

 private:
  bool build(bool with_audio, std::string* error);
  void teardown();

  gst::ObjectPtr<GstElement> pipeline_;
  GstElement* vsrc_ = nullptr;  // owned by pipeline_
  GstElement* asrc_ = nullptr;
  GstElement* sink_ = nullptr;
};

}  // namespace lp::media
