// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/http_server.h"

#include <libsoup/soup.h>

#include <cstdlib>

namespace lp::orch {

namespace {

void respond(SoupServerMessage* msg, int status, const char* content_type, const std::string& body) {
  soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
  soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body.data(), body.size());
}

}  // namespace

HttpServer::HttpServer(Orchestrator& orchestrator, net::CertKey tls, std::size_t max_body)
    : o_(orchestrator), tls_(std::move(tls)), max_body_(max_body) {}

HttpServer::~HttpServer() { stop(); }

Result<int> HttpServer::start(const std::string& host, int port) {
  thread_ = std::thread([this, host, port] { run(host, port); });
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return port_ != -1; });
  if (port_ == 0) {
    lock.unlock();
    thread_.join();
    return make_error(ErrorKind::fatal, "listen", error_);
  }
  return port_;
}

void HttpServer::run(const std::string& host, int port) {
  context_ = g_main_context_new();
  g_main_context_push_thread_default(context_);
  loop_ = g_main_loop_new(context_, FALSE);
  GError* err = nullptr;
  const std::string pem = tls_.cert_pem + tls_.key_pem;
  GTlsCertificate* cert = g_tls_certificate_new_from_pem(pem.c_str(), -1, &err);
  bool ok = cert != nullptr;
  if (ok) {
    server_ = soup_server_new("tls-certificate", cert, "server-header", "lpnode", nullptr);
    g_object_unref(cert);
    soup_server_add_early_handler(server_, "/segment", reinterpret_cast<SoupServerCallback>(on_early), this, nullptr);
    soup_server_add_handler(server_, "/segment", reinterpret_cast<SoupServerCallback>(on_segment), this, nullptr);
    soup_server_add_handler(server_, "/stream", reinterpret_cast<SoupServerCallback>(on_stream), this, nullptr);
    GInetAddress* addr = g_inet_address_new_from_string(host.c_str());
    if (!addr) {
      ok = false;
      err = g_error_new(G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP address: %s", host.c_str());
    } else {
      GSocketAddress* sa = g_inet_socket_address_new(addr, static_cast<guint16>(port));
      ok = soup_server_listen(server_, sa, SOUP_SERVER_LISTEN_HTTPS, &err);
      g_object_unref(sa);
      g_object_unref(addr);
    }
  }
  int bound = 0;
  if (ok) {
    GSList* uris = soup_server_get_uris(server_);
    if (uris) bound = g_uri_get_port(static_cast<GUri*>(uris->data));
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
  }
  {
    std::lock_guard lock(mu_);
    error_ = err ? std::string("cannot listen for HTTPS on ") + host + ":" + std::to_string(port) + ": " + err->message
                 : "cannot listen for HTTPS";
    port_ = ok && bound > 0 ? bound : 0;
  }
  g_clear_error(&err);
  cv_.notify_all();
  if (port_ > 0) g_main_loop_run(loop_);
  if (server_) {
    soup_server_disconnect(server_);
    g_object_unref(server_);
    server_ = nullptr;
  }
  g_main_loop_unref(loop_);
  g_main_context_pop_thread_default(context_);
  g_main_context_unref(context_);
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  {
    // A clean stop: segments in flight finish and are answered first.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
  }
  g_main_context_invoke(context_, [](gpointer loop) -> gboolean {
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_REMOVE;
  }, loop_);
  thread_.join();
}

void HttpServer::on_early(SoupServer*, void* m, const char*, GHashTable*, gpointer data) {
  auto* self = static_cast<HttpServer*>(data);
  auto* msg = static_cast<SoupServerMessage*>(m);
  if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0) {
    respond(msg, 405, "text/plain", "POST only");
    return;
  }
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  // Refused from the headers: the body is never read (go-livepeer MaxSegSize).
  if (soup_message_headers_get_encoding(h) != SOUP_ENCODING_CONTENT_LENGTH ||
      static_cast<std::size_t>(soup_message_headers_get_content_length(h)) > self->max_body_)
    respond(msg, 413, "text/plain", "segment too large or without a Content-Length");
}

void HttpServer::on_segment(SoupServer*, void* m, const char*, GHashTable*, gpointer data) {
  auto* self = static_cast<HttpServer*>(data);
  auto* msg = static_cast<SoupServerMessage*>(m);
  if (soup_server_message_get_status(msg) != 0 && soup_server_message_get_status(msg) != SOUP_STATUS_OK) return;
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  const char* payment = soup_message_headers_get_one(h, "Livepeer-Payment");
  const char* segment = soup_message_headers_get_one(h, "Livepeer-Segment");
  GBytes* body_bytes = soup_message_body_flatten(soup_server_message_get_request_body(msg));
  gsize size = 0;
  const char* body = static_cast<const char*>(g_bytes_get_data(body_bytes, &size));
  auto accepted = self->o_.accept_segment(payment ? payment : "", segment ? segment : "", std::string_view(body, size));
  if (auto* reply = std::get_if<SegmentReply>(&accepted)) {
    respond(msg, reply->status, reply->content_type.c_str(), reply->body);
    g_bytes_unref(body_bytes);
    return;
  }
  // Accepted and paid: 200 now, the result when the transcode is done.
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  SoupMessageHeaders* rh = soup_server_message_get_response_headers(msg);
  soup_message_headers_set_encoding(rh, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type(rh, "application/x-protobuf", nullptr);
  {
    std::lock_guard lock(self->mu_);
    ++self->in_flight_;
  }
  g_object_ref(msg);
  struct Done {
    HttpServer* self;
    SoupServerMessage* msg;
    std::string body;
  };
  std::thread([self, msg, body_bytes, job = std::move(std::get<AcceptedSegment>(accepted))]() mutable {
    gsize n = 0;
    const char* b = static_cast<const char*>(g_bytes_get_data(body_bytes, &n));
    SegmentReply reply = self->o_.transcode_segment(std::move(job), std::string_view(b, n));
    g_bytes_unref(body_bytes);
    auto* done = new Done{self, msg, std::move(reply.body)};
    g_main_context_invoke(self->context_, [](gpointer p) -> gboolean {
      auto* d = static_cast<Done*>(p);
      SoupMessageBody* out = soup_server_message_get_response_body(d->msg);
      soup_message_body_append(out, SOUP_MEMORY_COPY, d->body.data(), d->body.size());
      soup_message_body_complete(out);
      soup_server_message_unpause(d->msg);
      g_object_unref(d->msg);
      {
        std::lock_guard lock(d->self->mu_);
        --d->self->in_flight_;
      }
      d->self->cv_.notify_all();
      delete d;
      return G_SOURCE_REMOVE;
    }, done);
  }).detach();
}

void HttpServer::on_stream(SoupServer*, void* m, const char* path, GHashTable*, gpointer data) {
  auto* self = static_cast<HttpServer*>(data);
  auto* msg = static_cast<SoupServerMessage*>(m);
  if (g_strcmp0(soup_server_message_get_method(msg), "GET") != 0) {
    respond(msg, 405, "text/plain", "GET only");
    return;
  }
  // /stream/<session>/<profile>/<seq>.ts
  gchar** parts = g_strsplit(path, "/", -1);
  std::optional<std::string> found;
  if (g_strv_length(parts) == 5 && g_str_has_suffix(parts[4], ".ts")) {
    char* end = nullptr;
    const long long seq = std::strtoll(parts[4], &end, 10);
    if (end && g_strcmp0(end, ".ts") == 0 && end != parts[4]) found = self->o_.rendition(parts[2], parts[3], seq);
  }
  g_strfreev(parts);
  if (found)
    respond(msg, 200, "video/mp2t", *found);
  else
    respond(msg, 404, "text/plain", "not found");
}

}  // namespace lp::orch
