// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/rpc.h"

#include <cstdint>

#include "elements/net/lp_rpc.pb.h"

namespace lp::orch {

namespace {

constexpr int kUnknown = 2;
constexpr int kResourceExhausted = 8;
constexpr int kUnimplemented = 12;
constexpr int kInternal = 13;
constexpr std::string_view kService = "net.Orchestrator";

template <typename Req, typename Fn>
RpcAnswer unary(std::string_view message, Fn&& fn) {
  Req req;
  if (!req.ParseFromArray(message.data(), static_cast<int>(message.size())))
    return {kInternal,
            "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data",
            {}};
  return fn(req);
}

}  // namespace

RpcAnswer call_orchestrator(Orchestrator& o, std::string_view path, std::string_view framed) {
  // /service/method, as grpc-go splits it.
  if (path.empty() || path[0] != '/' || path.find('/', 1) == std::string_view::npos)
    return {kUnimplemented, "malformed method name: \"" + std::string(path) + "\"", {}};
  const std::size_t slash = path.find('/', 1);
  const std::string_view service = path.substr(1, slash - 1), method = path.substr(slash + 1);
  if (service != kService) return {kUnimplemented, "unknown service " + std::string(service), {}};
  if (method != "GetOrchestrator" && method != "Ping" && method != "EndTranscodingSession")
    return {kUnimplemented,
            "unknown method " + std::string(method) + " for service " + std::string(service),
            {}};
  // One message: a compression flag, a 4-byte big-endian length, the bytes.
  if (framed.size() < 5)
    return {kInternal, "grpc: error while receiving the request: unexpected EOF", {}};
  const auto* p = reinterpret_cast<const unsigned char*>(framed.data());
  const std::uint32_t len = (std::uint32_t{p[1]} << 24) | (std::uint32_t{p[2]} << 16) |
                            (std::uint32_t{p[3]} << 8) | std::uint32_t{p[4]};
  if (p[0] != 0)
    return {kInternal, "grpc: compressed flag set with identity or empty encoding", {}};
  if (len > kMaxRpcMessage)
    return {kResourceExhausted,
            "grpc: received message larger than max (" + std::to_string(len) + " vs. " +
                std::to_string(kMaxRpcMessage) + ")",
            {}};
  if (framed.size() - 5 != len)
    return {kInternal, "grpc: error while receiving the request: unexpected EOF", {}};
  const std::string_view message = framed.substr(5);
  if (method == "GetOrchestrator")
    return unary<::net::OrchestratorRequest>(message, [&](const auto& req) {
      auto info = o.get_orchestrator(req);
      if (!info) return RpcAnswer{kUnknown, info.error().message, {}};
      return RpcAnswer{0, {}, info->SerializeAsString()};
    });
  if (method == "Ping")
    return unary<::net::PingPong>(message, [&](const auto& req) {
      ::net::PingPong resp;
      resp.set_value(o.ping(req.value()));
      return RpcAnswer{0, {}, resp.SerializeAsString()};
    });
  return unary<::net::EndTranscodingSessionRequest>(message, [&](const auto& req) {
    auto st = o.end_session(req.auth_token());
    if (!st) return RpcAnswer{kUnknown, st.error().message, {}};
    return RpcAnswer{0, {}, ::net::EndTranscodingSessionResponse().SerializeAsString()};
  });
}

}  // namespace lp::orch
