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
/// A segment body that is the URL of the segment in object storage (go-livepeer's gateway with
/// an object store); the orchestrator downloads it.
inline constexpr const char* kSegmentUriContentType = "application/vnd+livepeer.uri";

/// go-livepeer's answer texts (server/segment_rpc.go, server/rpc.go, core/orchestrator.go): what
/// its orchestrator writes (HTTP bodies through http.Error, gRPC UNKNOWN messages) and what its
/// gateway reads. The payment layer's own texts (TicketParams expired, nonce errors) live in
/// payment/pm.
inline constexpr const char* kErrSegSig = "ErrSegSig";
inline constexpr const char* kErrSegEncoding = "ErrorSegEncoding";
inline constexpr const char* kErrDuration = "invalid duration";
inline constexpr const char* kErrCapCompat = "incompatible capabilities";
inline constexpr const char* kErrInsufficientBalance = "Insufficient balance";
inline constexpr const char* kErrOrchestratorCapped = "OrchestratorCapped";
inline constexpr const char* kErrOrchestratorBusy = "OrchestratorBusy";
/// A segment URI that could not be downloaded (or took longer than kSegmentUriTimeoutMs): 400.
inline constexpr const char* kErrBadRequest = "BadRequest";
/// A body (or downloaded segment) whose Keccak-256 is not SegData.hash: 403.
inline constexpr const char* kErrForbidden = "Forbidden";
/// go-livepeer's common.HTTPTimeout: a segment download from object storage that takes longer
/// is abandoned (the gateway would no longer wait for the result).
inline constexpr int kSegmentUriTimeoutMs = 8000;
/// Go's protobuf runtime on bytes that are not a message (google.golang.org/protobuf).
inline constexpr const char* kErrProtoParse = "proto: cannot parse invalid wire-format data";
/// GetOrchestrator's refusals are "Invalid orchestrator request: " + the reason.
inline constexpr const char* kErrInvalidOrchRequest = "Invalid orchestrator request: ";

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
