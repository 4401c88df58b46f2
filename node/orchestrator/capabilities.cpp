// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/capabilities.h"

namespace lp::orch {

std::vector<std::uint64_t> bitstring(const std::vector<std::uint32_t>& capabilities) {
  std::vector<std::uint64_t> bits;
  for (std::uint32_t c : capabilities) {
    if (bits.size() <= c / 64) bits.resize(c / 64 + 1, 0);
    bits[c / 64] |= std::uint64_t{1} << (c % 64);
  }
  return bits;
}

bool has(const std::vector<std::uint64_t>& bits, std::uint32_t capability) {
  return capability / 64 < bits.size() && (bits[capability / 64] >> (capability % 64)) & 1;
}

std::vector<std::uint32_t> h264_transcoding_capabilities() {
  return {kH264,
          kMpegTs,
          kFractionalFramerates,
          kProfileH264Baseline,
          kProfileH264Main,
          kProfileH264High,
          kProfileH264ConstrainedHigh,
          kGop};
}

::net::Capabilities orchestrator_capabilities(const std::string& version,
                                              const std::vector<std::uint32_t>& transcoder) {
  std::vector<std::uint32_t> offered = transcoder;
  offered.push_back(kAuthToken);
  ::net::Capabilities caps;
  for (std::uint64_t w : bitstring(offered)) caps.add_bitstring(w);
  for (std::uint64_t w : bitstring({kAuthToken})) caps.add_mandatories(w);
  caps.set_version(version);
  return caps;
}

bool compatible(const ::net::Capabilities& job, const ::net::Capabilities& orchestrator) {
  const auto& jb = job.bitstring();
  const auto& ob = orchestrator.bitstring();
  const auto& om = orchestrator.mandatories();
  if (jb.size() > ob.size() || om.size() > jb.size()) return false;
  for (int i = 0; i < om.size(); ++i)
    if ((om[i] & jb[i]) != om[i]) return false;
  for (int i = 0; i < jb.size(); ++i)
    if ((jb[i] & ob[i]) != jb[i]) return false;
  return true;
}

}  // namespace lp::orch
