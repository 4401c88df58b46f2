// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "elements/net/lp_rpc.grpc.pb.h"
#include "elements/net/tls.h"
#include "node/orchestrator/orchestrator.h"

namespace lp::orch {

/// net.Orchestrator over gRPC with TLS: GetOrchestrator, Ping, EndTranscodingSession, each a
/// call into Orchestrator. Errors go back as gRPC status UNKNOWN with go-livepeer's text (Go's
/// plain errors become UNKNOWN), capacity included.
class GrpcServer {
 public:
  GrpcServer(Orchestrator& orchestrator, const net::CertKey& tls);
  ~GrpcServer();
  /// Listens on host:port (port 0: any free port); returns the port, or an error.
  Result<int> start(const std::string& address);
  void stop();

 private:
  class Service;
  std::unique_ptr<Service> service_;
  net::CertKey tls_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace lp::orch
