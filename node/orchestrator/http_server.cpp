// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/http_server.h"

#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "elements/net/protocol.h"
#include "node/orchestrator/rpc.h"
#include "payment/eth/keccak.h"

namespace lp::orch {

namespace {

constexpr const char* kBodyHashKey = "lp-body-hash";

void respond(SoupServerMessage* msg, int status, const char* content_type,
             const std::string& body) {
  soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
  soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body.data(), body.size());
}

}  // namespace

HttpServer::HttpServer(Orchestrator& orchestrator, net::CertKey tls, HttpOptions options)
    : o_(orchestrator),
      tls_(std::move(tls)),
      options_(options),
      // Segment URIs point at object storage on the internet: its certificates are checked,
      // the operator's own network is out of reach unless allowed, and a download is no larger
      // than an uploaded segment may be.
      fetcher_(std::make_unique<net::SegmentClient>(
          net::SegmentClient::Options{true, options.allow_private_uris, options.max_body})),
      // Enough for every segment that can hold a place in a session's line (a worker waits
      // there for its turn); more would only queue in the pool, and the pool is FIFO in
      // acceptance order, so a segment never waits on one queued behind it.
      workers_(std::max<std::size_t>(1, orchestrator.segment_workers())) {}

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

namespace {

// A connection between accept and libsoup: nothing of TLS runs until the client sends its
// first bytes (an idle connection holds no thread: glib-networking handshakes on GTask's
// thread pool, which a crowd of idle connections would otherwise fill), and a client that
// neither starts nor finishes its handshake in time is dropped.
struct Pending {
  HttpServer* self = nullptr;
  GTlsCertificate* cert = nullptr;
  GSocketConnection* conn = nullptr;
  GIOStream* tls = nullptr;
  GCancellable* cancel = g_cancellable_new();
  GSource* wait = nullptr;
  GSource* timer = nullptr;

  ~Pending() {
    drop_source(wait);
    drop_source(timer);
    g_clear_object(&tls);
    g_object_unref(cancel);
    g_object_unref(conn);
  }
};

constexpr guint kFirstByteSeconds = 30;  // an open connection may stay silent this long
constexpr guint kHandshakeSeconds = 10;  // then the TLS handshake must finish in this time

gboolean on_timeout(gpointer data) {
  auto* p = static_cast<Pending*>(data);
  drop_source(p->timer);
  if (p->tls) {
    g_cancellable_cancel(p->cancel);  // on_handshake frees
  } else {
    g_io_stream_close(G_IO_STREAM(p->conn), nullptr, nullptr);
    p->self->h1().release(p->conn);
    delete p;
  }
  return G_SOURCE_REMOVE;
}

void on_handshake(GObject* source, GAsyncResult* res, gpointer data) {
  auto* p = static_cast<Pending*>(data);
  GError* err = nullptr;
  if (g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), res, &err)) {
    p->self->hand_over(p->tls, p->conn);
  } else {
    g_io_stream_close(G_IO_STREAM(p->conn), nullptr, nullptr);
    p->self->h1().release(p->conn);
  }
  g_clear_error(&err);
  delete p;
}

gboolean on_first_bytes(GSocket*, GIOCondition, gpointer data) {
  auto* p = static_cast<Pending*>(data);
  drop_source(p->wait);
  drop_source(p->timer);
  GError* err = nullptr;
  // No certificate database: this port asks no client for a certificate, and the default one
  // costs 3.7 MB a connection (glib-networking 2.74 loads the system trust store into every
  // connection's credentials; 16 KB without).
  p->tls = static_cast<GIOStream*>(g_initable_new(
      g_tls_backend_get_server_connection_type(g_tls_backend_get_default()), nullptr, &err,
      "base-io-stream", p->conn, "certificate", p->cert, "database", nullptr, nullptr));
  if (!p->tls) {
    g_clear_error(&err);
    g_io_stream_close(G_IO_STREAM(p->conn), nullptr, nullptr);
    p->self->h1().release(p->conn);
    delete p;
    return G_SOURCE_REMOVE;
  }
  // ALPN, as go-livepeer's port: h2 carries gRPC and HTTP requests alike, http/1.1 the
  // segment and rendition requests of clients that do not speak HTTP/2.
  static const gchar* const kAlpn[] = {"h2", "http/1.1", nullptr};
  g_tls_connection_set_advertised_protocols(G_TLS_CONNECTION(p->tls),
                                            p->self->http2() ? kAlpn : kAlpn + 1);
  p->timer = add_thread_timeout(kHandshakeSeconds, on_timeout, p);
  g_tls_connection_handshake_async(G_TLS_CONNECTION(p->tls), G_PRIORITY_DEFAULT, p->cancel,
                                   on_handshake, p);
  return G_SOURCE_REMOVE;
}

gboolean on_incoming(GSocketService*, GSocketConnection* conn, GObject*, gpointer data) {
  auto* self = static_cast<std::pair<HttpServer*, GTlsCertificate*>*>(data);
  // Responses go out in several writes (headers early, the body later): without TCP_NODELAY,
  // Nagle's algorithm and the peer's delayed ACK hold each response back by up to 40 ms.
  g_socket_set_option(g_socket_connection_get_socket(conn), IPPROTO_TCP, TCP_NODELAY, 1, nullptr);
  if (!self->first->h1().admit(conn)) {  // over a connection cap
    g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
    return TRUE;
  }
  auto* p = new Pending{self->first, self->second, G_SOCKET_CONNECTION(g_object_ref(conn))};
  p->wait =
      g_socket_create_source(g_socket_connection_get_socket(conn),
                             static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
  g_source_set_callback(p->wait, G_SOURCE_FUNC(on_first_bytes), p, nullptr);
  g_source_attach(p->wait, g_main_context_get_thread_default());
  p->timer = add_thread_timeout(kFirstByteSeconds, on_timeout, p);
  return TRUE;
}

}  // namespace

void HttpServer::run(const std::string& host, int port) {
  context_ = g_main_context_new();
  g_main_context_push_thread_default(context_);
  loop_ = g_main_loop_new(context_, FALSE);
  GError* err = nullptr;
  const std::string pem = tls_.cert_pem + tls_.key_pem;
  GTlsCertificate* cert = g_tls_certificate_new_from_pem(pem.c_str(), -1, &err);
  GSocketService* service = nullptr;
  std::pair<HttpServer*, GTlsCertificate*> accept_ctx{this, cert};
  int bound = 0;
  if (cert) {
    server_ = soup_server_new("server-header", "lpnode", nullptr);
    h1_ = std::make_unique<Http1Front>(server_, options_.front);
    soup_server_add_early_handler(server_, net::kSegmentPath,
                                  reinterpret_cast<SoupServerCallback>(on_early), this, nullptr);
    soup_server_add_handler(server_, net::kSegmentPath,
                            reinterpret_cast<SoupServerCallback>(on_segment), this, nullptr);
    // libsoup matches a handler's path as a prefix at a '/' boundary: "/stream" for /stream/...
    const std::string_view stream(net::kStreamPath);
    soup_server_add_handler(server_, std::string(stream.substr(0, stream.size() - 1)).c_str(),
                            reinterpret_cast<SoupServerCallback>(on_stream), this, nullptr);
    GInetAddress* addr = g_inet_address_new_from_string(host.c_str());
    if (!addr) {
      err = g_error_new(G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP address: %s",
                        host.c_str());
    } else {
      GSocketAddress* sa = g_inet_socket_address_new(addr, static_cast<guint16>(port));
      service = g_socket_service_new();
      g_socket_listener_set_backlog(G_SOCKET_LISTENER(service), kListenBacklog);
      GSocketAddress* effective = nullptr;
      if (g_socket_listener_add_address(G_SOCKET_LISTENER(service), sa, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, nullptr, &effective, &err)) {
        bound = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
        g_object_unref(effective);
        g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), &accept_ctx);
        g_socket_service_start(service);
      }
      g_object_unref(sa);
      g_object_unref(addr);
    }
  }
  {
    std::lock_guard lock(mu_);
    error_ = err ? std::string("cannot listen on ") + host + ":" + std::to_string(port) + ": " +
                       err->message
                 : "cannot listen";
    port_ = bound > 0 ? bound : 0;
  }
  g_clear_error(&err);
  cv_.notify_all();
  if (port_ > 0) g_main_loop_run(loop_);
  drop_source(stop_timer_);
  each_h2(&H2Connection::abort);
  for (auto& [p, c] : h2_) g_object_unref(c.sock);
  h2_.clear();
  if (service) {
    g_socket_service_stop(service);
    g_socket_listener_close(G_SOCKET_LISTENER(service));
    g_object_unref(service);
  }
  if (server_) {
    soup_server_disconnect(server_);
    h1_.reset();
    g_object_unref(server_);
    server_ = nullptr;
  }
  if (cert) g_object_unref(cert);
  g_main_loop_unref(loop_);
  g_main_context_pop_thread_default(context_);
  g_main_context_unref(context_);
}

int HttpServer::stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return 0;
  int left = 0;
  {
    // A clean stop: segments in flight finish and are answered first, within the grace.
    std::unique_lock lock(mu_);
    const auto drained = [this] { return in_flight_ == 0; };
    if (grace == std::chrono::milliseconds::max())
      cv_.wait(lock, drained);
    else
      cv_.wait_for(lock, grace, drained);
    left = in_flight_;
    closed_ = true;
  }
  g_main_context_invoke(
      context_,
      [](gpointer self) -> gboolean {
        static_cast<HttpServer*>(self)->begin_stop();
        return G_SOURCE_REMOVE;
      },
      this);
  thread_.join();
  return left;
}

void HttpServer::on_early(SoupServer*, void* m, const char*, GHashTable*, gpointer data) {
  auto* self = static_cast<HttpServer*>(data);
  auto* msg = static_cast<SoupServerMessage*>(m);
  if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0) {
    respond(msg, 405, "text/plain", "POST only");
    return;
  }
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  // Refused from the headers, without reading the body: over the size limit (or without a
  // Content-Length), or what the payment and segment headers alone decide.
  std::optional<SegmentReply> refusal;
  if (soup_message_headers_get_encoding(h) != SOUP_ENCODING_CONTENT_LENGTH ||
      static_cast<std::size_t>(soup_message_headers_get_content_length(h)) >
          self->options_.max_body)
    refusal = SegmentReply{413, "text/plain", "segment too large or without a Content-Length"};
  else {
    const char* payment = soup_message_headers_get_one(h, net::kPaymentHeader);
    const char* segment = soup_message_headers_get_one(h, net::kSegmentHeader);
    refusal = self->o_.check_headers(payment ? payment : "", segment ? segment : "");
  }
  if (refusal) {
    refuse_unread(msg, refusal->status, refusal->content_type, refusal->body);
    return;
  }
  // The body is hashed as it arrives, so that its Keccak-256 is ready when the last byte is.
  auto* hash = new Keccak256();
  g_object_set_data_full(G_OBJECT(msg), kBodyHashKey, hash,
                         [](gpointer k) { delete static_cast<Keccak256*>(k); });
  g_signal_connect(msg, "got-chunk", G_CALLBACK(+[](SoupServerMessage*, GBytes* chunk, gpointer k) {
                     gsize n = 0;
                     const auto* d = static_cast<const std::uint8_t*>(g_bytes_get_data(chunk, &n));
                     static_cast<Keccak256*>(k)->update(ByteSpan(d, n));
                   }),
                   hash);
}

namespace {

// 200 now (go-livepeer flushes it to end the upload); the TranscodeResult follows as the body.
void start_result(SoupServerMessage* msg) {
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  SoupMessageHeaders* rh = soup_server_message_get_response_headers(msg);
  soup_message_headers_set_encoding(rh, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type(rh, net::kProtobufContentType, nullptr);
}

}  // namespace

void HttpServer::on_segment(SoupServer*, void* m, const char*, GHashTable*, gpointer data) {
  auto* self = static_cast<HttpServer*>(data);
  auto* msg = static_cast<SoupServerMessage*>(m);
  if (soup_server_message_get_status(msg) != 0 &&
      soup_server_message_get_status(msg) != SOUP_STATUS_OK)
    return;
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  const char* payment = soup_message_headers_get_one(h, net::kPaymentHeader);
  const char* segment = soup_message_headers_get_one(h, net::kSegmentHeader);
  const char* type = soup_message_headers_get_content_type(h, nullptr);
  const SegmentBody kind = type && g_ascii_strcasecmp(type, net::kSegmentUriContentType) == 0
                               ? SegmentBody::uri
                               : SegmentBody::bytes;
  std::optional<Hash> hash;
  if (auto* k = static_cast<Keccak256*>(g_object_get_data(G_OBJECT(msg), kBodyHashKey)))
    hash = k->finish();
  g_object_ref(msg);  // until the exchange ends
  // A segment in the body: begin runs inside this handler, where the message must not be
  // unpaused (libsoup would run its I/O twice); a URI: the message is paused until the download.
  SegmentExchange ex{[msg, kind] {
                       start_result(msg);
                       if (kind == SegmentBody::uri) soup_server_message_unpause(msg);
                     },
                     [msg](SegmentReply reply) {
                       if (reply.status != 0) {
                         respond(msg, reply.status, reply.content_type.c_str(), reply.body);
                       } else {
                         SoupMessageBody* out = soup_server_message_get_response_body(msg);
                         soup_message_body_append(out, SOUP_MEMORY_COPY, reply.body.data(),
                                                  reply.body.size());
                         soup_message_body_complete(out);
                       }
                       soup_server_message_unpause(msg);
                       g_object_unref(msg);
                     }};
  auto refusal =
      self->take_segment(payment ? payment : "", segment ? segment : "", kind,
                         soup_message_body_flatten(soup_server_message_get_request_body(msg)),
                         hash ? &*hash : nullptr, std::move(ex));
  if (refusal) {
    respond(msg, refusal->status, refusal->content_type.c_str(), refusal->body);
    g_object_unref(msg);
  } else if (kind == SegmentBody::uri) {
    soup_server_message_pause(msg);  // the answer waits for the download
  }
}

std::optional<SegmentReply> HttpServer::take_segment(std::string_view payment,
                                                     std::string_view segment, SegmentBody kind,
                                                     GBytes* body_bytes, const Hash* hash,
                                                     SegmentExchange ex) {
  gsize size = 0;
  const char* body = static_cast<const char*>(g_bytes_get_data(body_bytes, &size));
  auto accepted = o_.accept_segment(payment, segment, std::string_view(body, size), hash, kind);
  if (auto* reply = std::get_if<SegmentReply>(&accepted)) {
    g_bytes_unref(body_bytes);
    return std::move(*reply);
  }
  {
    std::lock_guard lock(mu_);
    ++in_flight_;
  }
  // Accepted and paid. A segment in the body: 200 now, the result when the transcode is done.
  // A URI: the answer waits for the download and its hash check (on a worker).
  if (kind == SegmentBody::bytes) ex.begin();
  workers_.post([this, body_bytes, ex = std::move(ex),
                 job = std::move(std::get<AcceptedSegment>(accepted))]() mutable {
    gsize n = 0;
    const char* b = static_cast<const char*>(g_bytes_get_data(body_bytes, &n));
    std::string_view segment_bytes(b, n);
    Result<std::string> downloaded = std::string();
    if (!job.uri.empty()) {
      downloaded = fetcher_->fetch(job.uri, std::chrono::milliseconds(options_.uri_timeout_ms));
      if (auto refusal = o_.check_download(job, downloaded)) {
        g_bytes_unref(body_bytes);
        answer(ex, std::move(*refusal));
        return;
      }
      segment_bytes = *downloaded;
      on_main([begin = ex.begin] { begin(); });
    }
    SegmentReply reply = o_.transcode_segment(job, segment_bytes);
    g_bytes_unref(body_bytes);
    reply.status = 0;  // the body of the 200 already sent
    answer(ex, std::move(reply));
  });
  return std::nullopt;
}

void HttpServer::on_main(std::function<void()> fn) {
  auto* task = new std::function<void()>(std::move(fn));
  g_main_context_invoke_full(
      context_, G_PRIORITY_DEFAULT,
      [](gpointer p) -> gboolean {
        (*static_cast<std::function<void()>*>(p))();
        return G_SOURCE_REMOVE;
      },
      task, [](gpointer p) { delete static_cast<std::function<void()>*>(p); });
}

void HttpServer::answer(SegmentExchange& ex, SegmentReply reply) {
  // Posted under the lock: once stop() has closed the server (its grace ran out), the server
  // thread and its context are going away, and what finishes late is dropped instead.
  std::lock_guard closing(mu_);
  if (closed_) {
    --in_flight_;
    return;
  }
  on_main([this, end = std::move(ex.end), reply = std::move(reply)]() mutable {
    end(std::move(reply));
    {
      std::lock_guard lock(mu_);
      --in_flight_;
    }
    cv_.notify_all();
  });
}

void HttpServer::hand_over(GIOStream* tls, GSocketConnection* conn) {
  const char* alpn = g_tls_connection_get_negotiated_protocol(G_TLS_CONNECTION(tls));
  if (g_strcmp0(alpn, "h2") == 0) {
    if (stopping_) {
      g_io_stream_close(tls, nullptr, nullptr);
      h1_->release(conn);
      return;
    }
    auto c = std::make_shared<H2Connection>(tls, h2_handler(), H2Connection::Limits{});
    h2_[c.get()] = {c, G_SOCKET_CONNECTION(g_object_ref(conn))};
    c->start();
    return;
  }
  h1_->adopt(tls, conn);
}

H2Connection::Handler HttpServer::h2_handler() {
  return {[this](const H2Request& r) { return h2_headers(r); },
          [this](const std::shared_ptr<H2Connection>& c, H2Request&& r) {
            h2_request(c, std::move(r));
          },
          [this](H2Connection* c) {
            auto it = h2_.find(c);
            if (it == h2_.end()) return;
            h1_->release(it->second.sock);
            g_object_unref(it->second.sock);
            h2_.erase(it);
            if (stopping_ && h2_.empty()) g_main_loop_quit(loop_);
          }};
}

namespace {

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

bool is_stream_path(std::string_view path) {
  return path.substr(0, std::string_view(net::kStreamPath).size()) == net::kStreamPath;
}

}  // namespace

std::variant<H2Reply, std::size_t> HttpServer::h2_headers(const H2Request& r) const {
  // go-livepeer's ServeHTTP: HTTP/2 with an application/grpc Content-Type is gRPC.
  if (r.grpc()) {
    if (r.method != "POST") return H2Reply{405, "text/plain", "gRPC requires POST"};
    return kMaxRpcMessage + 5;
  }
  const std::string_view path = path_of(r.path);
  if (path == net::kSegmentPath) {
    if (r.method != "POST") return H2Reply{405, "text/plain", "POST only"};
    if (auto n = r.content_length(); n && *n > options_.max_body)
      return H2Reply{413, "text/plain", "segment too large"};
    if (auto refusal =
            o_.check_headers(r.header(net::kPaymentHeader), r.header(net::kSegmentHeader)))
      return H2Reply{refusal->status, refusal->content_type, std::move(refusal->body)};
    return options_.max_body;
  }
  if (is_stream_path(path)) {
    if (r.method != "GET") return H2Reply{405, "text/plain", "GET only"};
    return std::size_t{0};
  }
  return H2Reply{404, "text/plain", "not found"};
}

void HttpServer::h2_request(const std::shared_ptr<H2Connection>& conn, H2Request&& r) {
  if (r.grpc()) {
    const RpcAnswer a = call_orchestrator(o_, r.path, r.body);
    conn->respond_grpc(r.stream, a.code, a.message, a.body);
    return;
  }
  const std::string_view path = path_of(r.path);
  if (is_stream_path(path)) {
    std::optional<std::string> found;
    if (auto p = net::parse_rendition_path(path))
      found = o_.rendition(p->session, p->profile, p->seq);
    conn->respond(r.stream, found ? H2Reply{200, net::kSegmentContentType, std::move(*found)}
                                  : H2Reply{404, "text/plain", "not found"});
    return;
  }
  // POST /segment (h2_headers let nothing else through).
  const std::string_view type = r.header("content-type");
  const SegmentBody kind =
      g_ascii_strcasecmp(std::string(type).c_str(), net::kSegmentUriContentType) == 0
          ? SegmentBody::uri
          : SegmentBody::bytes;
  const std::int32_t id = r.stream;
  std::weak_ptr<H2Connection> weak = conn;
  SegmentExchange ex{[weak, id] {
                       if (auto c = weak.lock())
                         c->respond_headers(id, 200, net::kProtobufContentType);
                     },
                     [weak, id](SegmentReply reply) {
                       auto c = weak.lock();
                       if (!c) return;
                       if (reply.status == 0)
                         c->finish(id, std::move(reply.body));
                       else
                         c->respond(id, {reply.status, reply.content_type, std::move(reply.body)});
                     }};
  const std::string payment(r.header(net::kPaymentHeader)), segment(r.header(net::kSegmentHeader));
  auto* body = new std::string(std::move(r.body));
  GBytes* bytes = g_bytes_new_with_free_func(
      body->data(), body->size(), [](gpointer p) { delete static_cast<std::string*>(p); }, body);
  if (auto refusal = take_segment(payment, segment, kind, bytes, nullptr, std::move(ex)))
    conn->respond(id, {refusal->status, refusal->content_type, std::move(refusal->body)});
}

void HttpServer::each_h2(void (H2Connection::*fn)()) {
  // Over a copy: a call may close its connection, which leaves h2_ at once.
  std::vector<std::shared_ptr<H2Connection>> open;
  open.reserve(h2_.size());
  for (const auto& [p, c] : h2_) open.push_back(c.conn);
  for (const auto& c : open) ((*c).*fn)();
}

void HttpServer::begin_stop() {
  stopping_ = true;
  if (h2_.empty()) {
    g_main_loop_quit(loop_);
    return;
  }
  // GOAWAY on every HTTP/2 connection: each closes once its answers are out; one that
  // lingers is cut after 1 s (a stop ends within 5 s of the signal).
  each_h2(&H2Connection::shutdown);
  stop_timer_ = add_thread_timeout(
      1,
      [](gpointer data) -> gboolean {
        auto* self = static_cast<HttpServer*>(data);
        drop_source(self->stop_timer_);
        self->each_h2(&H2Connection::abort);
        return G_SOURCE_REMOVE;
      },
      this);
}

void HttpServer::on_stream(SoupServer*, void* m, const char* path, GHashTable*, gpointer data) {
  auto* self = static_cast<HttpServer*>(data);
  auto* msg = static_cast<SoupServerMessage*>(m);
  if (g_strcmp0(soup_server_message_get_method(msg), "GET") != 0) {
    respond(msg, 405, "text/plain", "GET only");
    return;
  }
  std::optional<std::string> found;
  if (auto p = net::parse_rendition_path(path ? path : ""))
    found = self->o_.rendition(p->session, p->profile, p->seq);
  if (found)
    respond(msg, 200, net::kSegmentContentType, *found);
  else
    respond(msg, 404, "text/plain", "not found");
}

}  // namespace lp::orch
