// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "elements/net/lp_rpc.pb.h"

namespace lp::orch {

/// go-livepeer capability ids (core/capabilities.go), those a transcoding node speaks of.
enum Capability : std::uint32_t {
  kH264 = 0,
  kMpegTs = 1,
  kMp4 = 2,
  kFractionalFramerates = 3,
  kStorageDirect = 4,
  kProfileH264Baseline = 7,
  kProfileH264Main = 8,
  kProfileH264High = 9,
  kProfileH264ConstrainedHigh = 10,
  kGop = 11,
  kAuthToken = 12,
  kMpeg7VideoSignature = 14,
  kSegmentSlicing = 26,
};

/// Capability c is bit c%64 of word c/64.
std::vector<std::uint64_t> bitstring(const std::vector<std::uint32_t>& capabilities);
bool has(const std::vector<std::uint64_t>& bits, std::uint32_t capability);

/// What an H.264 transcoder does: H.264 in and out, MPEG-TS, fractional frame rates, the four
/// H.264 profiles, GOP.
std::vector<std::uint32_t> h264_transcoding_capabilities();

/// What this orchestrator offers: its transcoder's capabilities (by default an H.264
/// transcoder's) and auth tokens, which are mandatory.
::net::Capabilities orchestrator_capabilities(
    const std::string& version,
    const std::vector<std::uint32_t>& transcoder = h264_transcoding_capabilities());

/// go-livepeer's rule: every mandatory of the orchestrator is in the job, and every bit of the
/// job is offered; a bitstring longer than the other side's is incompatible.
bool compatible(const ::net::Capabilities& job, const ::net::Capabilities& orchestrator);

}  // namespace lp::orch
