// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/net/client.h"

#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace lp::net {

namespace {

std::shared_ptr<grpc::ChannelCredentials> insecure_tls() {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace

OrchestratorClient::OrchestratorClient(const std::string& target,
                                       std::chrono::milliseconds call_timeout)
    : stub_(::net::Orchestrator::NewStub(grpc::CreateChannel(target, insecure_tls()))),
      timeout_(call_timeout) {}

template <class Call>
Status OrchestratorClient::call(Call&& c) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return make_error(ErrorKind::fatal, "cancelled", "cancelled");
    active_.insert(&ctx);
  }
  const grpc::Status st = c(&ctx);
  {
    std::lock_guard lock(mu_);
    active_.erase(&ctx);
  }
  if (st.ok()) return ok_status();
  if (st.error_code() == grpc::StatusCode::CANCELLED)
    return make_error(ErrorKind::fatal, "cancelled", st.error_message());
  const bool transient = st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                         st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  return make_error(transient ? ErrorKind::retryable : ErrorKind::forbidden,
                    "grpc_" + std::to_string(st.error_code()), st.error_message());
}

Result<::net::OrchestratorInfo> OrchestratorClient::get_orchestrator(
    const ::net::OrchestratorRequest& req) {
  ::net::OrchestratorInfo info;
  auto st = call([&](grpc::ClientContext* ctx) { return stub_->GetOrchestrator(ctx, req, &info); });
  if (!st) return st.error();
  return info;
}

Result<std::string> OrchestratorClient::ping(const std::string& value) {
  ::net::PingPong req, resp;
  req.set_value(value);
  auto st = call([&](grpc::ClientContext* ctx) { return stub_->Ping(ctx, req, &resp); });
  if (!st) return st.error();
  return resp.value();
}

Status OrchestratorClient::end_session(const ::net::AuthToken& token) {
  ::net::EndTranscodingSessionRequest req;
  *req.mutable_auth_token() = token;
  ::net::EndTranscodingSessionResponse resp;
  return call(
      [&](grpc::ClientContext* ctx) { return stub_->EndTranscodingSession(ctx, req, &resp); });
}

void OrchestratorClient::cancel_all() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
}

void OrchestratorClient::resume() {
  std::lock_guard lock(mu_);
  cancelled_ = false;
}

}  // namespace lp::net
