// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gio/gio.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "elements/common/worker_pool.h"
#include "elements/net/protocol.h"
#include "elements/net/segment_client.h"
#include "elements/net/tls.h"
#include "node/orchestrator/h2_connection.h"
#include "node/orchestrator/http1_front.h"
#include "node/orchestrator/orchestrator.h"

typedef struct _SoupServer SoupServer;  // NOLINT(bugprone-reserved-identifier): libsoup's tag
// NOLINTNEXTLINE(bugprone-reserved-identifier): libsoup's tag
typedef struct _SoupServerMessage SoupServerMessage;

namespace lp::orch {

/// The orchestrator's service port, as go-livepeer's: one TLS port that offers ALPN h2 and
/// http/1.1. HTTP/2 requests whose Content-Type begins with application/grpc are gRPC calls of
/// net.Orchestrator (GetOrchestrator, Ping, EndTranscodingSession); every other request, over
/// HTTP/2 (nghttp2) or HTTP/1.1 (libsoup 3), goes to the HTTP handlers:
///  - POST /segment: Livepeer-Payment and Livepeer-Segment headers, the segment as the body.
///    A body over the size limit is refused from its Content-Length, before it is read (413).
///    Checks and payment happen at once; on success 200 goes out immediately (go-livepeer
///    flushes it to end the upload) and the TranscodeResult follows as the body when the
///    transcode is done, on a worker thread.
///    A body of type application/vnd+livepeer.uri is the segment's URL in object storage: once
///    the segment is paid for, a worker downloads it (http or https with verified
///    certificates, within the size limit and 8 s; loopback, private and link-local addresses
///    refused unless allowed), checks its hash, and only then answers 200 (or 400 BadRequest,
///    403 Forbidden, as go-livepeer).
///  - GET /stream/<session>/<profile>/<seq>.ts: a rendition from the memory store.
/// The server runs in its own thread and main context; stop() waits for segments in flight.
/// Connections are accepted here, not by libsoup: TLS starts only when a client sends its
/// first bytes (30 s allowed) and must complete within 10 s, so idle or stalled connections
/// cannot exhaust the threads glib-networking handshakes on and block other clients. HTTP/1.1
/// connections then go through an Http1Front (header and idle limits, closed when the peer
/// closes); every connection counts against the port's caps (HttpOptions::front.caps).
/// docs/protocol.md ("One port") has the design and its reasons.
struct HttpOptions {
  std::size_t max_body = 300'000'000;  ///< go-livepeer MaxSegSize: a body, or a downloaded segment
  bool allow_private_uris = false;     ///< segment URIs may point into the operator's network
  int uri_timeout_ms = net::kSegmentUriTimeoutMs;  ///< a segment download's whole time
  bool http2 = true;         ///< ALPN offers h2 (gRPC needs it); false: HTTP/1.1 only, as a segment
                             ///< port was before the one port (benchmarks compare the two)
  Http1Front::Limits front;  ///< HTTP/1.1 header and idle limits; connection caps of the port
};

class HttpServer {
 public:
  HttpServer(Orchestrator& orchestrator, net::CertKey tls, HttpOptions options = {});
  ~HttpServer();
  /// Listens on host:port (0: any free port); returns the port.
  Result<int> start(const std::string& host, int port);
  /// Stops taking requests and ends the server: the segments in flight are answered first,
  /// for at most `grace`; returns how many were still in flight then (0: all answered). Those
  /// still run on the workers, which the destructor waits for.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds::max());

  /// A TLS connection whose handshake is done: HTTP/2 to nghttp2, HTTP/1.1 to libsoup.
  /// (Server thread; public for the accept code.)
  void hand_over(GIOStream* tls, GSocketConnection* conn);
  bool http2() const { return options_.http2; }
  /// The port's HTTP/1.1 connections and its connection caps (server thread).
  Http1Front& h1() { return *h1_; }

 private:
  /// How one segment request is answered, whichever protocol carried it (server thread).
  struct SegmentExchange {
    std::function<void()> begin;            ///< 200 and the result's headers: the upload ends
    std::function<void(SegmentReply)> end;  ///< status 0: the 200's body; else the whole answer
  };
  /// Pays for and checks a segment; a refusal comes back, an accepted segment is transcoded on
  /// a worker and answered through `ex`. Takes `body`.
  std::optional<SegmentReply> take_segment(std::string_view payment, std::string_view segment,
                                           SegmentBody kind, GBytes* body, const Hash* hash,
                                           SegmentExchange ex);
  H2Connection::Handler h2_handler();
  std::variant<H2Reply, std::size_t> h2_headers(const H2Request& req) const;
  void h2_request(const std::shared_ptr<H2Connection>& conn, H2Request&& req);
  void begin_stop();
  /// Calls fn on every open HTTP/2 connection (server thread).
  void each_h2(void (H2Connection::*fn)());
  void run(const std::string& host, int port);
  static void on_early(SoupServer*, void* msg, const char* path, GHashTable*, gpointer self);
  static void on_segment(SoupServer*, void* msg, const char* path, GHashTable*, gpointer self);
  static void on_stream(SoupServer*, void* msg, const char* path, GHashTable*, gpointer self);
  /// Runs fn on the server's thread (libsoup's objects are used there only).
  void on_main(std::function<void()> fn);
  /// Ends an accepted segment's exchange on the server thread, and its count in flight.
  void answer(SegmentExchange& ex, SegmentReply reply);

  Orchestrator& o_;
  net::CertKey tls_;
  HttpOptions options_;
  std::unique_ptr<net::SegmentClient> fetcher_;  // segment URIs
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  SoupServer* server_ = nullptr;
  std::unique_ptr<Http1Front> h1_;  // server thread
  struct H2Open {
    std::shared_ptr<H2Connection> conn;
    GSocketConnection* sock = nullptr;  // a reference, for the connection caps
  };
  std::map<H2Connection*, H2Open> h2_;  // server thread
  bool stopping_ = false;               // server thread
  GSource* stop_timer_ = nullptr;       // server thread
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  int port_ = -1;        // guarded by mu_: -1 starting, 0 failed
  std::string error_;    // guarded by mu_
  int in_flight_ = 0;    // guarded by mu_
  bool closed_ = false;  // guarded by mu_: stopped; a late answer is dropped, not posted
  WorkerPool workers_;   // the transcodes of accepted segments (not a thread per segment)
};

}  // namespace lp::orch
