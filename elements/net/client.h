// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's side of Livepeer's gRPC service: get an orchestrator's info, ping it, end a
// session. TLS without certificate verification, as go-livepeer's gateway connects
// (orchestrators present self-signed certificates made at start).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "elements/net/lp_rpc.grpc.pb.h"
#include "payment/common/result.h"

namespace lp::net {

class OrchestratorClient {
 public:
  /// target: host:port of the orchestrator's service address.
  explicit OrchestratorClient(const std::string& target, std::chrono::milliseconds call_timeout =
                                                             std::chrono::milliseconds(8000));

  Result<::net::OrchestratorInfo> get_orchestrator(const ::net::OrchestratorRequest& req);
  Result<std::string> ping(const std::string& value);
  Status end_session(const ::net::AuthToken& token);
  /// Ends the calls in flight at once (their callers get "cancelled") and refuses new ones until
  /// resume(): a stopping gateway does not wait for a deadline. Any thread.
  void cancel_all();
  void resume();

 private:
  template <class Call>
  Status call(Call&& c);
  std::unique_ptr<::net::Orchestrator::Stub> stub_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::set<grpc::ClientContext*> active_;  // guarded by mu_
  bool cancelled_ = false;                 // guarded by mu_
};

}  // namespace lp::net
