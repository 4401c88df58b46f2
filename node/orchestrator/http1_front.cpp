// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/http1_front.h"

#include <libsoup/soup.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "node/orchestrator/h2_connection.h"

// A pollable input stream that serves some bytes already read (the header block the front
// read) before those of the stream under it, and never closes that stream: libsoup reads a
// request through it, and closing or dropping it leaves the connection to the front.
// NOLINTBEGIN: GObject type boilerplate, in GLib's C conventions.
extern "C" {
typedef struct {
  GInputStream parent;
  GInputStream* base;
  std::string* bytes;
  std::size_t at;
} LpPrefixInput;
typedef struct {
  GInputStreamClass parent_class;
} LpPrefixInputClass;
static void lp_prefix_input_pollable_init(GPollableInputStreamInterface* iface);
G_DEFINE_TYPE_WITH_CODE(LpPrefixInput, lp_prefix_input, G_TYPE_INPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
                                              lp_prefix_input_pollable_init))
}
// NOLINTEND

namespace {

LpPrefixInput* prefix_of(gpointer p) {
  return G_TYPE_CHECK_INSTANCE_CAST(p, lp_prefix_input_get_type(), LpPrefixInput);
}

bool has_prefix(LpPrefixInput* s) { return s->at < s->bytes->size(); }

gssize take_prefix(LpPrefixInput* s, void* buffer, gsize count) {
  const std::size_t n = std::min<std::size_t>(count, s->bytes->size() - s->at);
  std::memcpy(buffer, s->bytes->data() + s->at, n);
  s->at += n;
  if (s->at == s->bytes->size()) {
    s->bytes->clear();
    s->at = 0;
  }
  return static_cast<gssize>(n);
}

gssize prefix_read(GInputStream* stream, void* buffer, gsize count, GCancellable* cancel,
                   GError** error) {
  LpPrefixInput* s = prefix_of(stream);
  if (has_prefix(s)) return take_prefix(s, buffer, count);
  return g_input_stream_read(s->base, buffer, count, cancel, error);
}

gboolean prefix_close(GInputStream*, GCancellable*, GError**) { return TRUE; }

gboolean prefix_is_readable(GPollableInputStream* stream) {
  LpPrefixInput* s = prefix_of(stream);
  return has_prefix(s) || g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(s->base));
}

GSource* prefix_create_source(GPollableInputStream* stream, GCancellable* cancel) {
  LpPrefixInput* s = prefix_of(stream);
  GSource* child = has_prefix(s) ? g_timeout_source_new(0)
                                 : g_pollable_input_stream_create_source(
                                       G_POLLABLE_INPUT_STREAM(s->base), nullptr);
  GSource* source = g_pollable_source_new_full(stream, child, cancel);
  g_source_unref(child);
  return source;
}

gssize prefix_read_nonblocking(GPollableInputStream* stream, void* buffer, gsize count,
                               GError** error) {
  LpPrefixInput* s = prefix_of(stream);
  if (has_prefix(s)) return take_prefix(s, buffer, count);
  return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(s->base), buffer, count,
                                                  nullptr, error);
}

void prefix_finalize(GObject* object) {
  LpPrefixInput* s = prefix_of(object);
  g_clear_object(&s->base);
  delete s->bytes;
  G_OBJECT_CLASS(lp_prefix_input_parent_class)->finalize(object);
}

}  // namespace

// NOLINTBEGIN: GObject type boilerplate
extern "C" {
static void lp_prefix_input_init(LpPrefixInput* s) {
  s->base = nullptr;
  s->bytes = new std::string();
  s->at = 0;
}
static void lp_prefix_input_class_init(LpPrefixInputClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = prefix_finalize;
  G_INPUT_STREAM_CLASS(klass)->read_fn = prefix_read;
  G_INPUT_STREAM_CLASS(klass)->close_fn = prefix_close;
}
static void lp_prefix_input_pollable_init(GPollableInputStreamInterface* iface) {
  iface->is_readable = prefix_is_readable;
  iface->create_source = prefix_create_source;
  iface->read_nonblocking = prefix_read_nonblocking;
}
}
// NOLINTEND

namespace lp::orch {

namespace {

constexpr std::size_t kReadChunk = std::size_t{16} * 1024;

std::string ip_of(GSocketConnection* conn) {
  GSocketAddress* a = g_socket_connection_get_remote_address(conn, nullptr);
  std::string ip = "?";
  if (a && G_IS_INET_SOCKET_ADDRESS(a)) {
    gchar* s =
        g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(a)));
    ip = s;
    g_free(s);
  }
  g_clear_object(&a);
  return ip;
}

// Where a request's header block ends (just past its blank line), or npos. Empty lines before
// the request line are skipped first (RFC 9112 2.2), by the caller.
std::size_t header_end(std::string_view b) {
  const std::size_t crlf = b.find("\r\n\r\n");
  const std::size_t lf = b.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::string_view::npos;
  if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf))
    return crlf + 4;
  return lf + 2;
}

bool keeps_alive(SoupServerMessage* msg) {
  if (soup_server_message_get_http_version(msg) != SOUP_HTTP_1_1) return false;
  SoupMessageHeaders* rq = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders* rs = soup_server_message_get_response_headers(msg);
  return soup_message_headers_get_encoding(rs) != SOUP_ENCODING_EOF &&
         !soup_message_headers_header_contains(rq, "Connection", "close") &&
         !soup_message_headers_header_contains(rs, "Connection", "close");
}

}  // namespace

struct Http1Front::Conn {
  Http1Front* front = nullptr;
  GIOStream* stream = nullptr;  // the connection: a TLS stream or the socket connection
  GSocketConnection* sock = nullptr;
  GSocketAddress* local = nullptr;
  GSocketAddress* remote = nullptr;
  LpPrefixInput* prefix = nullptr;  // libsoup's input: the header block read here, then stream
  GIOStream* handover = nullptr;    // what libsoup gets: prefix + the stream's output
  std::string buf;                  // this request's bytes read so far, while parked
  bool in_soup = false;             // libsoup has the connection
  bool first = true;                // no request yet
  bool eof = false;
  GSource* wait = nullptr;
  GSource* timer = nullptr;
  GSource* later = nullptr;

  void drop_sources() {
    drop_source(wait);
    drop_source(timer);
    drop_source(later);
  }
  void park();
  enum class Read { closed, waiting, handed };  ///< closed: this is gone
  /// Reads what has come: the request's header block still incomplete (waiting), or handed
  /// to libsoup, or the connection closed here.
  Read read_more();
  bool hand_to_soup();  ///< false when the connection was closed here
  void after(GSourceFunc fn);
  void timeout(unsigned seconds);
  void refuse_431();
};

namespace {

void on_toggle(gpointer data, GObject*, gboolean is_last_ref) {
  auto* c = static_cast<Http1Front::Conn*>(data);
  // libsoup has let go of the connection (closed it, or a handler stole and dropped it).
  if (is_last_ref && c->in_soup) {
    c->in_soup = false;
    c->eof = true;
    c->after([](gpointer p) -> gboolean {
      auto* conn = static_cast<Http1Front::Conn*>(p);
      drop_source(conn->later);
      conn->park();  // eof: closes
      return G_SOURCE_REMOVE;
    });
  }
}

}  // namespace

void Http1Front::Conn::after(GSourceFunc fn) {
  drop_source(later);
  later = g_idle_source_new();
  g_source_set_callback(later, fn, this, nullptr);
  g_source_attach(later, front->context_);
}

void Http1Front::Conn::timeout(unsigned seconds) {
  drop_source(timer);
  timer = g_timeout_source_new_seconds(seconds);
  g_source_set_callback(
      timer,
      [](gpointer p) -> gboolean {
        auto* c = static_cast<Conn*>(p);
        drop_source(c->timer);
        // What arrived while the main loop was busy counts: the time is up only for a
        // request that is still not whole.
        // (A request begun just now arms its own header limit.)
        if (c->read_more() == Read::waiting && !c->timer) c->front->close(c);
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(timer, front->context_);
}

void Http1Front::Conn::refuse_431() {
  write_closing_response(stream, 431, "text/plain", "request header block too large\n");
  front->close(this);
}

// Waits for the next request's header block, or closes when the peer has gone.
void Http1Front::Conn::park() {
  in_soup = false;
  if (eof) {
    front->close(this);
    return;
  }
  while (buf.size() >= 2 && buf[0] == '\r' && buf[1] == '\n') buf.erase(0, 2);
  if (header_end(buf) != std::string::npos) {
    hand_to_soup();
    return;
  }
  // Idle between requests: the keep-alive limit; a request begun (or the connection's first):
  // the header limit.
  timeout(buf.empty() && !first ? front->limits_.idle_seconds : front->limits_.header_seconds);
  drop_source(wait);
  wait = g_pollable_input_stream_create_source(
      G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream)), nullptr);
  // A pollable source calls a GPollableSourceFunc: the stream first, then the data.
  g_source_set_callback(wait, G_SOURCE_FUNC(+[](GObject*, gpointer p) -> gboolean {
                          static_cast<Conn*>(p)->read_more();
                          return G_SOURCE_CONTINUE;
                        }),
                        this, nullptr);
  g_source_attach(wait, front->context_);
}

Http1Front::Conn::Read Http1Front::Conn::read_more() {
  const std::size_t cap = front->limits_.max_header_bytes;
  char chunk[kReadChunk];
  for (;;) {
    GError* err = nullptr;
    const gssize n = g_pollable_input_stream_read_nonblocking(
        G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream)), chunk, sizeof chunk, nullptr,
        &err);
    if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free(err);
      return Read::waiting;
    }
    g_clear_error(&err);
    if (n <= 0) {  // the peer closed, or the connection failed
      front->close(this);
      return Read::closed;
    }
    const bool began = buf.empty();
    buf.append(chunk, static_cast<std::size_t>(n));
    while (buf.size() >= 2 && buf[0] == '\r' && buf[1] == '\n') buf.erase(0, 2);
    const std::size_t end = header_end(buf);
    if (end != std::string::npos && end <= cap) {
      return hand_to_soup() ? Read::handed : Read::closed;
    }
    if (buf.size() > cap) {
      refuse_431();
      return Read::closed;
    }
    if (began && !buf.empty() && !first) timeout(front->limits_.header_seconds);
  }
}

bool Http1Front::Conn::hand_to_soup() {
  drop_sources();
  prefix->bytes->assign(buf);
  prefix->at = 0;
  buf.clear();
  first = false;
  in_soup = true;
  GError* err = nullptr;
  if (!soup_server_accept_iostream(front->server_, handover, local, remote, &err)) {
    g_clear_error(&err);
    in_soup = false;
    front->close(this);
    return false;
  }
  return true;
}

void write_closing_response(GIOStream* stream, int status, std::string_view content_type,
                            std::string_view body) {
  const char* reason = soup_status_get_phrase(static_cast<guint>(status));
  std::string all = "HTTP/1.1 " + std::to_string(status) + " " + (reason ? reason : "Error") +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  all.append(body);
  g_output_stream_write_all(g_io_stream_get_output_stream(stream), all.data(), all.size(), nullptr,
                            nullptr, nullptr);
}

void refuse_unread(SoupServerMessage* msg, int status, std::string_view content_type,
                   std::string_view body) {
  GIOStream* stream = soup_server_message_steal_connection(msg);
  if (!stream) return;
  write_closing_response(stream, status, content_type, body);
  g_io_stream_close(stream, nullptr, nullptr);
  g_object_unref(stream);
}

Http1Front::Http1Front(SoupServer* server, Limits limits)
    : server_(SOUP_SERVER(g_object_ref(server))),
      limits_(limits),
      context_(g_main_context_ref_thread_default()) {
  started_handler_ =
      g_signal_connect(server_, "request-started", G_CALLBACK(on_request_started), this);
}

Http1Front::~Http1Front() {
  if (service_) {
    g_socket_service_stop(service_);
    g_socket_listener_close(G_SOCKET_LISTENER(service_));
    g_object_unref(service_);
  }
  // The server's exchanges end first (none of its messages outlives the front), then the
  // connections parked here.
  soup_server_disconnect(server_);
  while (!conns_.empty()) close(conns_.begin()->first);
  drop_source(trim_);
  g_signal_handler_disconnect(server_, started_handler_);
  g_object_unref(server_);
  g_main_context_unref(context_);
}

// The address a connection is counted under, kept on the connection: its socket may be closed
// (and its peer unknown) by the time it is released.
constexpr const char* kCountedIp = "lp-counted-ip";

bool Http1Front::admit(GSocketConnection* conn) {
  std::string ip = ip_of(conn);
  std::size_t& n = per_ip_[ip];
  if (total_ >= limits_.caps.total || n >= limits_.caps.per_ip) {
    if (n == 0) per_ip_.erase(ip);
    return false;
  }
  ++n;
  ++total_;
  g_object_set_data_full(G_OBJECT(conn), kCountedIp, g_strdup(ip.c_str()), g_free);
  return true;
}

void Http1Front::release(GSocketConnection* conn) {
  const char* ip = static_cast<const char*>(g_object_get_data(G_OBJECT(conn), kCountedIp));
  if (!ip) return;  // not counted, or released already
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  if (total_ > 0) --total_;
  g_object_set_data(G_OBJECT(conn), kCountedIp, nullptr);
}

void Http1Front::adopt(GIOStream* stream, GSocketConnection* conn) {
  auto owned = std::make_unique<Conn>();
  Conn* c = owned.get();
  c->front = this;
  c->stream = G_IO_STREAM(g_object_ref(stream));
  c->sock = G_SOCKET_CONNECTION(g_object_ref(conn));
  c->local = g_socket_connection_get_local_address(conn, nullptr);
  c->remote = g_socket_connection_get_remote_address(conn, nullptr);
  if (!c->local || !c->remote) {
    conns_[c] = std::move(owned);
    close(c);
    return;
  }
  c->prefix = static_cast<LpPrefixInput*>(g_object_new(lp_prefix_input_get_type(), nullptr));
  c->prefix->base = G_INPUT_STREAM(g_object_ref(g_io_stream_get_input_stream(stream)));
  c->handover =
      g_simple_io_stream_new(G_INPUT_STREAM(c->prefix), g_io_stream_get_output_stream(stream));
  // Told when libsoup's last reference goes: libsoup closed the connection or a handler stole
  // and dropped it. The front keeps one reference (the toggle) until the connection ends.
  g_object_add_toggle_ref(G_OBJECT(c->handover), on_toggle, c);
  g_object_unref(c->handover);
  by_remote_[c->remote] = c;
  conns_[c] = std::move(owned);
  c->park();
}

void Http1Front::close(Conn* c) {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> owned = std::move(it->second);
  conns_.erase(it);
  c->drop_sources();
  if (c->remote) by_remote_.erase(c->remote);
  c->in_soup = false;
  g_io_stream_close(c->stream, nullptr, nullptr);
  if (c->handover) g_object_remove_toggle_ref(G_OBJECT(c->handover), on_toggle, c);
  g_clear_object(&c->prefix);
  g_clear_object(&c->stream);
  release(c->sock);
  g_clear_object(&c->sock);
  g_clear_object(&c->local);
  g_clear_object(&c->remote);
  // What a crowd of connections took goes back to the system once it has left: glibc keeps
  // freed memory in its arenas otherwise. One trim a second at most.
  if (!trim_) {
    trim_ = g_timeout_source_new_seconds(1);
    g_source_set_callback(
        trim_,
        [](gpointer self) -> gboolean {
          auto* front = static_cast<Http1Front*>(self);
          g_source_unref(front->trim_);
          front->trim_ = nullptr;
          malloc_trim(0);
          return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(trim_, context_);
  }
}

void Http1Front::on_request_started(SoupServer*, void* m, gpointer self) {
  auto* msg = static_cast<SoupServerMessage*>(m);
  // After each kept-alive response the connection comes back to the front, which watches it
  // between requests (libsoup would wait on it without noticing the peer's close).
  g_signal_connect(
      msg, "wrote-body", G_CALLBACK(+[](SoupServerMessage* written, gpointer data) {
        auto* front = static_cast<Http1Front*>(data);
        auto it = front->by_remote_.find(soup_server_message_get_remote_address(written));
        if (it == front->by_remote_.end() || !it->second->in_soup || !keeps_alive(written)) return;
        Conn* c = it->second;
        c->in_soup = false;  // before libsoup lets go of the stream
        GIOStream* stolen = soup_server_message_steal_connection(written);
        if (stolen) {
          // What libsoup read ahead (a pipelined request) stays in this order.
          char chunk[kReadChunk];
          for (;;) {
            const gssize n = g_pollable_input_stream_read_nonblocking(
                G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stolen)), chunk, sizeof chunk,
                nullptr, nullptr);
            if (n == 0) c->eof = true;
            if (n <= 0) break;
            c->buf.append(chunk, static_cast<std::size_t>(n));
          }
          g_object_unref(stolen);
        }
        // Parked from the main loop, outside libsoup's I/O.
        c->after([](gpointer p) -> gboolean {
          auto* conn = static_cast<Conn*>(p);
          drop_source(conn->later);
          conn->park();
          return G_SOURCE_REMOVE;
        });
      }),
      self);
}

Result<int> Http1Front::listen(const std::string& host, int port) {
  const std::string where = host + ":" + std::to_string(port);
  GInetAddress* addr =
      g_inet_address_new_from_string(host == "localhost" ? "127.0.0.1" : host.c_str());
  if (!addr) return make_error(ErrorKind::invalid_input, "address", where + ": not an IP address");
  GSocketAddress* sa = g_inet_socket_address_new(addr, static_cast<guint16>(port));
  g_object_unref(addr);
  service_ = g_socket_service_new();
  // A crowd that connects at once waits in the kernel's queue, not refused (GLib's default
  // backlog is 10; Go listens with the system's maximum).
  g_socket_listener_set_backlog(G_SOCKET_LISTENER(service_), kListenBacklog);
  GSocketAddress* effective = nullptr;
  GError* err = nullptr;
  const gboolean ok =
      g_socket_listener_add_address(G_SOCKET_LISTENER(service_), sa, G_SOCKET_TYPE_STREAM,
                                    G_SOCKET_PROTOCOL_TCP, nullptr, &effective, &err);
  g_object_unref(sa);
  if (!ok) {
    const std::string why = err ? err->message : "cannot listen";
    g_clear_error(&err);
    g_clear_object(&service_);
    return make_error(ErrorKind::fatal, "listen", where + ": " + why);
  }
  const int bound = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
  g_object_unref(effective);
  g_signal_connect(service_, "incoming",
                   G_CALLBACK(+[](GSocketService*, GSocketConnection* conn, GObject*,
                                  gpointer self) -> gboolean {
                     auto* front = static_cast<Http1Front*>(self);
                     g_socket_set_option(g_socket_connection_get_socket(conn), IPPROTO_TCP,
                                         TCP_NODELAY, 1, nullptr);
                     if (!front->admit(conn)) {
                       g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
                       return TRUE;
                     }
                     front->adopt(G_IO_STREAM(conn), conn);
                     return TRUE;
                   }),
                   this);
  g_socket_service_start(service_);
  return bound;
}

}  // namespace lp::orch
