// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/local_transcoder.h"

#include "node/orchestrator/capabilities.h"

namespace lp::orch {

namespace {

class LocalSession : public TranscodeSession {
 public:
  explicit LocalSession(media::TranscodeEngine::Options options) : engine_(std::move(options)) {}

  Result<std::vector<RenditionOut>> transcode(const SegmentIn& segment) override {
    gst::BufferPtr in(gst_buffer_new_memdup(segment.bytes.data(), segment.bytes.size()));
    std::vector<media::Rendition> out;
    std::string error;
    if (!engine_.transcode(in.get(), &out, &error))
      return make_error(ErrorKind::invalid_input, "transcode_failed", error);
    std::vector<RenditionOut> renditions(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      GstMapInfo map;
      if (!gst_buffer_map(out[i].ts.get(), &map, GST_MAP_READ))
        return make_error(ErrorKind::fatal, "transcode_failed", "cannot read a rendition");
      renditions[i].bytes.assign(reinterpret_cast<const char*>(map.data), map.size);
      gst_buffer_unmap(out[i].ts.get(), &map);
      renditions[i].pixels = out[i].pixels;
    }
    return renditions;
  }

 private:
  media::TranscodeEngine engine_;
};

}  // namespace

std::vector<std::uint32_t> LocalTranscoder::capabilities() const {
  return h264_transcoding_capabilities();
}

Result<std::unique_ptr<TranscodeSession>> LocalTranscoder::open_session(
    const std::vector<media::VideoProfile>& ladder) {
  if (ladder.empty()) return make_error(ErrorKind::invalid_input, "bad_profile", "no profiles");
  // The engine builds its pipeline at the first segment: element trouble shows up there.
  return std::unique_ptr<TranscodeSession>(std::make_unique<LocalSession>(
      media::TranscodeEngine::Options{ladder, options_.gpu, options_.x264_preset}));
}

}  // namespace lp::orch
