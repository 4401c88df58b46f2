// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/grpc_server.h"

#include <grpc/support/log.h>

#include <cstdlib>
#include <mutex>

namespace lp::orch {

namespace {

// Go's grpc server answers a plain error as UNKNOWN with its text: every refusal here is one.
grpc::Status to_status(const Error& e) { return {grpc::StatusCode::UNKNOWN, e.message}; }

}  // namespace

class GrpcServer::Service final : public ::net::Orchestrator::Service {
 public:
  explicit Service(Orchestrator& o) : o_(o) {}

  grpc::Status GetOrchestrator(grpc::ServerContext*, const ::net::OrchestratorRequest* req,
                               ::net::OrchestratorInfo* resp) override {
    auto info = o_.get_orchestrator(*req);
    if (!info) return to_status(info.error());
    *resp = std::move(*info);
    return grpc::Status::OK;
  }

  grpc::Status Ping(grpc::ServerContext*, const ::net::PingPong* req,
                    ::net::PingPong* resp) override {
    resp->set_value(o_.ping(req->value()));
    return grpc::Status::OK;
  }

  grpc::Status EndTranscodingSession(grpc::ServerContext*,
                                     const ::net::EndTranscodingSessionRequest* req,
                                     ::net::EndTranscodingSessionResponse*) override {
    auto st = o_.end_session(req->auth_token());
    return st ? grpc::Status::OK : to_status(st.error());
  }

 private:
  Orchestrator& o_;
};

GrpcServer::GrpcServer(Orchestrator& orchestrator, const net::CertKey& tls)
    : service_(std::make_unique<Service>(orchestrator)), tls_(tls) {}

GrpcServer::~GrpcServer() { stop(); }

Result<int> GrpcServer::start(const std::string& address) {
  // gRPC's own log lines (a bind failure prints a page of internal state) stay quiet: the
  // failures that matter come back as errors with one clear message. LP_DEBUG shows them.
  static std::once_flag quiet;
  std::call_once(quiet, [] {
    if (!std::getenv("LP_DEBUG")) gpr_set_log_function([](gpr_log_func_args*) {});
  });
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({tls_.key_pem, tls_.cert_pem});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::SslServerCredentials(ssl), &port);
  builder.RegisterService(service_.get());
  // Requests are small; a hostile one gets refused rather than buffered.
  builder.SetMaxReceiveMessageSize(1 << 20);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0)
    return make_error(
        ErrorKind::fatal, "listen",
        "cannot listen for gRPC on " + address + ": address already in use or not available");
  return port;
}

void GrpcServer::stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
  }
}

}  // namespace lp::orch
