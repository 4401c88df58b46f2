// SPDX-License-Identifier: LGPL-2.1-or-later
// Test transcoders behind the orchestrator's Transcoder seam: the real local transcoder whose
// output a script changes (a cheater: black pictures, the wrong size, frames missing, pixels
// over-claimed), replaces with an error (a transcoder that dies), or holds back (a slow one).
#pragma once

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "node/orchestrator/capabilities.h"
#include "node/orchestrator/local_transcoder.h"
#include "node/orchestrator/transcoder.h"

namespace lp::test {

class FakeTranscoder : public orch::Transcoder {
 public:
  using Renditions = Result<std::vector<orch::RenditionOut>>;
  /// The real transcode of the segment (a LocalTranscoder on the CPU, ultrafast), built at the
  /// first call: a script that never calls it never starts a pipeline.
  using Real = std::function<Renditions()>;
  /// What each segment gets.
  using Script = std::function<Renditions(const orch::SegmentIn& segment, const Real& real)>;

  explicit FakeTranscoder(Script script)
      : script_(std::move(script)),
        real_(std::make_shared<orch::LocalTranscoder>(
            orch::LocalTranscoder::Options{media::GpuMode::off, "ultrafast"})) {}

  /// A script that returns the real renditions after `change` has had its way with them.
  static Script cheat(
      const std::function<void(const orch::SegmentIn&, std::vector<orch::RenditionOut>&)>& change) {
    return [change](const orch::SegmentIn& segment, const Real& real) -> Renditions {
      auto out = real();
      if (out) change(segment, *out);
      return out;
    };
  }

  std::vector<std::uint32_t> capabilities() const override { return capabilities_; }
  std::size_t capacity() const override { return capacity_; }
  Result<std::unique_ptr<orch::TranscodeSession>> open_session(
      const std::vector<media::VideoProfile>& ladder) override {
    ++sessions_opened;
    return std::unique_ptr<orch::TranscodeSession>(std::make_unique<Session>(*this, ladder));
  }

  std::vector<std::uint32_t> capabilities_ = orch::h264_transcoding_capabilities();
  std::size_t capacity_ = std::numeric_limits<std::size_t>::max();
  std::atomic<int> sessions_opened{0};
  std::atomic<int> segments{0};

 private:
  class Session : public orch::TranscodeSession {
   public:
    Session(FakeTranscoder& owner, std::vector<media::VideoProfile> ladder)
        : owner_(owner), ladder_(std::move(ladder)) {}
    Renditions transcode(const orch::SegmentIn& segment) override {
      ++owner_.segments;
      const Real real = [this, &segment]() -> Renditions {
        if (!inner_) {
          auto opened = owner_.real_->open_session(ladder_);
          if (!opened) return opened.error();
          inner_ = std::move(*opened);
        }
        return inner_->transcode(segment);
      };
      return owner_.script_(segment, real);
    }

   private:
    FakeTranscoder& owner_;
    const std::vector<media::VideoProfile> ladder_;
    std::unique_ptr<orch::TranscodeSession> inner_;
  };

  const Script script_;
  const std::shared_ptr<orch::LocalTranscoder> real_;
};

/// The real local transcoder as the node wires it, for tests on the CPU.
inline std::shared_ptr<orch::Transcoder> cpu_transcoder() {
  return std::make_shared<orch::LocalTranscoder>(
      orch::LocalTranscoder::Options{media::GpuMode::off, "ultrafast"});
}

}  // namespace lp::test
