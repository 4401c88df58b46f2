// SPDX-License-Identifier: LGPL-2.1-or-later
// The HTTP/1.1 connections of a libsoup server, owned here between requests.
#pragma once

#include <gio/gio.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "payment/common/result.h"

typedef struct _SoupServer SoupServer;  // NOLINT(bugprone-reserved-identifier): libsoup's tag
typedef struct _SoupServerMessage       // NOLINT(bugprone-reserved-identifier): libsoup's tag
    SoupServerMessage;

namespace lp::orch {

/// The listen backlog of the servers' ports (Linux caps it at net.core.somaxconn).
inline constexpr int kListenBacklog = 4096;

/// Writes a whole HTTP/1.1 response with `Connection: close` to a connection that is taken
/// from libsoup or not yet given to it (the caller closes it).
void write_closing_response(GIOStream* stream, int status, std::string_view content_type,
                            std::string_view body);

/// Answers a request from its headers alone, in a handler added with
/// soup_server_add_early_handler(): the connection is taken from libsoup, the response written
/// with `Connection: close`, and the connection closed, so that not one byte of the body is
/// read (libsoup would read it all first, whatever the status).
void refuse_unread(SoupServerMessage* msg, int status, std::string_view content_type,
                   std::string_view body);

/// Connections per client address and in all, for one server's port.
struct ConnectionCaps {
  std::size_t total = 4096;   ///< open connections on the port (beyond: closed at accept)
  std::size_t per_ip = 1024;  ///< open connections from one address
};

/// Sits between a port's connections and a libsoup 3.2 server, so that a public port holds:
///  - libsoup 3.2 never releases a kept-alive connection that the client closes while idle
///    (the message it waits on has no completion handler: the socket stays in CLOSE-WAIT with
///    all its buffers, for good; fixed upstream in 3.3). So libsoup gets a connection only
///    with a whole request header block in hand, and gives it back (stolen after each
///    kept-alive response) to be watched here: a peer that closes is closed at once.
///  - A kept-alive connection idle for `idle_seconds` is closed; a request's header block must
///    arrive within `header_seconds` of its first byte (of the connection, for the first
///    request) and be at most `max_header_bytes` (else 431, as HTTP says).
///  - Connections are counted per client address and in all (ConnectionCaps).
/// Every call runs on the thread whose default main context was current at construction.
class Http1Front {
 public:
  struct Limits {
    std::size_t max_header_bytes = std::size_t{32} * 1024;
    unsigned header_seconds = 10;
    unsigned idle_seconds = 60;
    ConnectionCaps caps;
  };
  Http1Front(SoupServer* server, Limits limits);
  ~Http1Front();
  Http1Front(const Http1Front&) = delete;
  Http1Front& operator=(const Http1Front&) = delete;

  /// Plain HTTP on host:port (port 0: any free one), every connection through this front.
  /// Returns the port bound, or why not ("127.0.0.1:7935: address already in use").
  Result<int> listen(const std::string& host, int port);

  /// Counts a new connection against the caps; false: over a cap (the caller closes it).
  bool admit(GSocketConnection* conn);
  /// Uncounts an admitted connection that never reached adopt().
  void release(GSocketConnection* conn);
  /// An admitted connection ready for HTTP/1.1 (a TLS stream whose handshake is done, or the
  /// socket connection itself): read, handed to libsoup, and closed here.
  void adopt(GIOStream* stream, GSocketConnection* conn);

  struct Conn;  // one connection (http1_front.cpp)

 private:
  static void on_request_started(SoupServer*, void* msg, gpointer self);
  void close(Conn* c);

  SoupServer* server_;
  Limits limits_;
  GMainContext* context_;
  gulong started_handler_ = 0;
  GSocketService* service_ = nullptr;
  GSource* trim_ = nullptr;  // malloc_trim after connections close
  std::map<Conn*, std::unique_ptr<Conn>> conns_;
  std::map<GSocketAddress*, Conn*> by_remote_;  // what libsoup's messages report
  std::map<std::string, std::size_t> per_ip_;
  std::size_t total_ = 0;
};

}  // namespace lp::orch
