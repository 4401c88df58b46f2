// SPDX-License-Identifier: LGPL-2.1-or-later
// Livepeer's HTTP protocol constants, written down once: the header names, the endpoint paths
// and the shape of a rendition's URL (go-livepeer: server/segment_rpc.go, server/ot_rpc.go).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::net {

inline constexpr const char* kPaymentHeader = "Livepeer-Payment";  ///< base64 net.Payment
inline constexpr const char* kSegmentHeader = "Livepeer-Segment";  ///< base64 net.SegData
inline constexpr const char* kSegmentPath = "/segment";            ///< POST: a segment to transcode
/// GET /stream/<session>/<profile>/<seq>.ts: a rendition.
inline constexpr const char* kStreamPath = "/stream/";
inline constexpr const char* kSegmentContentType = "video/MP2T";
inline constexpr const char* kProtobufContentType = "application/x-protobuf";

/// Where a rendition is fetched from: <base>/stream/<session>/<profile>/<seq>.ts
std::string rendition_url(std::string_view base, std::string_view session, std::string_view profile,
                          std::int64_t seq);

/// The parts of a rendition path (/stream/<session>/<profile>/<seq>.ts), or nullopt: session
/// and profile non-empty without '/', seq a non-negative decimal number.
struct RenditionPath {
  std::string session;
  std::string profile;
  std::int64_t seq = 0;
};
std::optional<RenditionPath> parse_rendition_path(std::string_view path);

}  // namespace lp::net
