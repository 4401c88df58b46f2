// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gio/gio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

typedef struct nghttp2_session nghttp2_session;

namespace lp::orch {

/// A timeout on the calling thread's thread-default main context (g_timeout_add_seconds
/// attaches to the global default context, which a server thread does not run).
GSource* add_thread_timeout(unsigned seconds, GSourceFunc fn, gpointer data);
/// Destroys a source made above, if any, and clears the pointer.
void drop_source(GSource*& source);

/// One request received over HTTP/2: pseudo-headers apart, header names in lower case.
struct H2Request {
  std::int32_t stream = 0;
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// A header's value, or "" (names are compared in lower case, as HTTP/2 sends them).
  std::string_view header(std::string_view name) const;
  std::optional<std::size_t> content_length() const;
  /// go-livepeer's routing rule: HTTP/2 and a Content-Type beginning with application/grpc.
  bool grpc() const;
};

/// A whole answer, or a refusal given from the headers alone.
struct H2Reply {
  int status = 200;
  std::string content_type;
  std::string body;
};

/// One HTTP/2 connection on an established TLS stream (ALPN h2), driven by nghttp2 on the
/// thread-default main context it was started on; every call below is made from that thread.
/// The protocol (framing, HPACK, flow control, SETTINGS, PING, GOAWAY, flood limits) is
/// nghttp2's; this class moves bytes between it and the stream, keeps each request until it is
/// whole, and sends what the handler answers. A request's answer may come long after it
/// arrived (a transcode): the connection is shared, and an answer for a stream that has gone
/// meanwhile (the client reset it or left) is dropped.
class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  struct Limits {
    std::uint32_t max_streams = 32;        ///< SETTINGS_MAX_CONCURRENT_STREAMS
    std::size_t max_header_bytes = 65536;  ///< a request's header list, names and values
    unsigned idle_seconds = 120;           ///< no stream open this long: GOAWAY and close
  };
  struct Handler {
    /// The request's headers are whole: a reply refuses it at once (its body is not read,
    /// the stream is reset once the answer is out); otherwise the most body bytes it may send.
    std::function<std::variant<H2Reply, std::size_t>(const H2Request&)> on_headers;
    /// The request is whole (body included).
    std::function<void(const std::shared_ptr<H2Connection>&, H2Request&&)> on_request;
    /// The connection is closed and holds nothing more (drop the last reference here).
    std::function<void(H2Connection*)> on_closed;
  };

  H2Connection(GIOStream* stream, Handler handler, Limits limits);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  /// Sends the server's SETTINGS and starts reading; bytes already read from the stream (none
  /// when ALPN chose h2 before any application data) are not expected.
  void start();
  /// Server stopping: GOAWAY, then close once the streams that are open are answered.
  void shutdown();
  /// Cancels everything at once (the server's last act).
  void abort();

  void respond(std::int32_t stream, const H2Reply& reply);
  /// The status and Content-Type now, the body later with finish() (the upload ends at once).
  void respond_headers(std::int32_t stream, int status, const std::string& content_type);
  void finish(std::int32_t stream, std::string body);
  /// A unary gRPC answer: code 0 sends the message, any other code a trailers-only answer.
  void respond_grpc(std::int32_t stream, int code, const std::string& message,
                    const std::string& body);

 private:
  struct Stream;
  friend struct H2Callbacks;

  Stream* find(std::int32_t stream);
  /// Answers from the headers alone; the rest of the request's body is dropped.
  void refuse(std::int32_t stream, const H2Reply& reply);
  void submit(std::int32_t stream, int status, const std::string& content_type,
              std::vector<std::pair<std::string, std::string>> trailers, bool has_body);
  void read_more();
  void flush();
  void maybe_closed();
  void arm_idle();
  static void on_read(GObject*, GAsyncResult*, gpointer self);
  static void on_written(GObject*, GAsyncResult*, gpointer self);

  GIOStream* io_;
  Handler handler_;
  Limits limits_;
  nghttp2_session* session_ = nullptr;
  GCancellable* cancel_;
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::uint8_t> in_;
  std::string sending_;  // bytes being written
  bool reading_ = false;
  bool writing_ = false;
  bool in_recv_ = false;        // inside nghttp2's receive callbacks: no sending from there
  bool broken_ = false;         // the stream failed or the peer left: nothing more is sent
  bool shutting_down_ = false;  // GOAWAY sent: close once the open streams are answered
  bool closed_ = false;         // on_closed called
  GSource* idle_timer_ = nullptr;
};

}  // namespace lp::orch
