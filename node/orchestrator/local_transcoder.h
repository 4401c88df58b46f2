// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <limits>
#include <string>

#include "elements/transcode/transcode_engine.h"
#include "node/orchestrator/transcoder.h"

namespace lp::orch {

/// Transcodes in this process: each session owns a TranscodeEngine (decode once, one scale and
/// encode branch per rung) that stays up across the session's segments.
class LocalTranscoder : public Transcoder {
 public:
  struct Options {
    media::GpuMode gpu = media::GpuMode::automatic;
    std::string x264_preset = "veryfast";
    /// Sessions at once; the machine's limit is the orchestrator's --max-sessions.
    std::size_t capacity = std::numeric_limits<std::size_t>::max();
  };

  explicit LocalTranscoder(Options options) : options_(std::move(options)) {}

  std::vector<std::uint32_t> capabilities() const override;
  std::size_t capacity() const override { return options_.capacity; }
  Result<std::unique_ptr<TranscodeSession>> open_session(
      const std::vector<media::VideoProfile>& ladder) override;

 private:
  const Options options_;
};

}  // namespace lp::orch
