// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "node/orchestrator/orchestrator.h"

namespace lp::orch {

/// A unary gRPC call's outcome: a status code (0 OK, 2 UNKNOWN, ...), its message, and on OK
/// the serialized response.
struct RpcAnswer {
  int code = 0;
  std::string message;
  std::string body;
};

inline constexpr std::size_t kMaxRpcMessage = 1 << 20;  ///< requests are small; more is refused

/// One call of the net.Orchestrator service as gRPC carries it over HTTP/2: `path` is
/// /net.Orchestrator/<Method>, `framed` the request body (length-prefixed messages). Codes and
/// texts are grpc-go's where the framing is wrong or the method unknown, and an orchestrator's
/// refusal is UNKNOWN with its text, as a Go server answers a plain error.
RpcAnswer call_orchestrator(Orchestrator& o, std::string_view path, std::string_view framed);

}  // namespace lp::orch
