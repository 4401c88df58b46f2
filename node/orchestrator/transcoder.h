// SPDX-License-Identifier: LGPL-2.1-or-later
// The orchestrator's transcoder seam: a segment in, one rendition per rung of the ladder out.
// The orchestrator pays, signs, stores and bills; a Transcoder only turns bytes into bytes.
// Implementations: LocalTranscoder (an in-process TranscodeEngine, warm per session); next,
// remote workers over go-livepeer's O-T protocol, each session a worker's job.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "elements/transcode/profiles.h"
#include "payment/common/result.h"

namespace lp::orch {

/// One source segment, as the gateway sent it.
struct SegmentIn {
  std::int64_t seq = 0;
  std::int64_t duration_ms = 0;  ///< the gateway's claim (SegData.duration)
  std::string_view bytes;        ///< MPEG-TS, valid for the duration of the call
};

/// One rendition of a segment: the bytes the orchestrator signs and serves, and the encoded
/// pixels it bills for (frames x width x height, as lpms counts them).
struct RenditionOut {
  std::string bytes;  ///< MPEG-TS
  std::uint64_t pixels = 0;
};

/// A stream's transcoding for one ladder: kept between segments so that a local pipeline stays
/// warm. Called for one segment at a time, in order (the orchestrator's session line); the
/// call blocks until every rendition is done or failed.
class TranscodeSession {
 public:
  virtual ~TranscodeSession() = default;
  /// The renditions in ladder order, or why not (the text goes to the gateway in
  /// TranscodeResult.error). After an error the orchestrator drops the session and opens a new
  /// one for the next segment.
  virtual Result<std::vector<RenditionOut>> transcode(const SegmentIn& segment) = 0;
};

/// Where sessions come from. Thread-safe: sessions are opened from the HTTPS workers.
class Transcoder {
 public:
  virtual ~Transcoder() = default;
  /// go-livepeer capability ids (see capabilities.h) this transcoder can do; the orchestrator
  /// offers these plus what it does itself (auth tokens).
  virtual std::vector<std::uint32_t> capabilities() const = 0;
  /// How many sessions it can hold now: the orchestrator takes no new session beyond it (nor
  /// beyond its own --max-sessions). Remote workers' capacity changes as they come and go.
  virtual std::size_t capacity() const = 0;
  /// A session for this ladder (validated: names, sizes, bitrates), or a typed error.
  virtual Result<std::unique_ptr<TranscodeSession>> open_session(
      const std::vector<media::VideoProfile>& ladder) = 0;
};

}  // namespace lp::orch
