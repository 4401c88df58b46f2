// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/net/segment_client.h"

#include <libsoup/soup.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "elements/net/protocol.h"

/* A certificate database that accepts every chain: orchestrators present self-signed
 * certificates and gateways do not verify them (go-livepeer: InsecureSkipVerify). Accepting in
 * the database rather than in "accept-certificate" keeps connections reusable: libsoup does not
 * reuse a connection whose certificate had errors, which costs a TLS handshake per request. */
typedef struct {
  GTlsDatabase parent;
} LpAcceptAllDatabase;
typedef struct {
  GTlsDatabaseClass parent_class;
} LpAcceptAllDatabaseClass;

G_DEFINE_TYPE(LpAcceptAllDatabase, lp_accept_all_database, G_TYPE_TLS_DATABASE)

static GTlsCertificateFlags lp_accept_all_verify_chain(GTlsDatabase*, GTlsCertificate*,
                                                       const gchar*, GSocketConnectable*,
                                                       GTlsInteraction*, GTlsDatabaseVerifyFlags,
                                                       GCancellable*, GError**) {
  return static_cast<GTlsCertificateFlags>(0);
}

static void lp_accept_all_database_class_init(LpAcceptAllDatabaseClass* klass) {
  G_TLS_DATABASE_CLASS(klass)->verify_chain = lp_accept_all_verify_chain;
}

static void lp_accept_all_database_init(LpAcceptAllDatabase*) {}

namespace lp::net {

namespace {

using Clock = std::chrono::steady_clock;

// How much of a response body one read asks for.
constexpr gsize kReadChunk = gsize{256} * 1024;
constexpr gint kMaxConnsPerHost = 64;  // per orchestrator: above any sane max-in-flight
constexpr gint kMaxConns = 1024;       // all orchestrators of one element
// How long a cancelled request is left to libsoup to end before it is ended without it.
constexpr guint kCancelGraceMs = 200;

/// One request on its way: made by the caller's thread, run on the I/O thread, handed back.
struct Call {
  // Set by the caller before it is started, read-only afterwards.
  std::string method, url, body;
  std::vector<std::pair<std::string, std::string>> headers;
  Clock::time_point headers_by, done_by;  // deadlines: the status line, the whole answer
  std::function<void()> on_headers;       // once, when the status line is in or it failed
  // I/O thread only.
  SoupMessage* msg = nullptr;
  GInputStream* in = nullptr;
  GSource* timer = nullptr;
  bool headers_told = false;
  bool got_headers = false;  // the final status line is in (got-headers)
  gulong got_headers_id = 0;
  bool expired = false;
  bool finished = false;         // finish() ran: later completions from libsoup are only cleaned up
  bool refused_address = false;  // allow_private off and the peer is private
  bool too_large = false;        // the answer passed max_body
  std::string peer;              // the refused address, for the message
  GCancellable* cancellable = g_cancellable_new();  // any thread may cancel it
  // Handed back under SegmentClient::Impl::mu.
  bool done = false;
  SegmentClient::Response response;

  ~Call() {
    g_clear_object(&in);
    g_clear_object(&msg);
    g_object_unref(cancellable);
  }
};

}  // namespace

struct SegmentClient::Impl {
  const SegmentClient::Options options;
  GMainContext* context = g_main_context_new();
  GMainLoop* loop = g_main_loop_new(context, FALSE);
  SoupSession* session = nullptr;  // made, used and freed on the I/O thread
  std::thread thread;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::set<std::shared_ptr<Call>> active;      // guarded by mu
  bool cancelled = false;                      // guarded by mu
  std::deque<std::shared_ptr<Call>> incoming;  // guarded by mu: calls for the I/O thread
  Counters counters;                           // guarded by mu

  explicit Impl(SegmentClient::Options opts) : options(opts) {
    std::mutex started_mu;
    std::condition_variable started_cv;
    bool started = false;
    thread = std::thread([&] {
      g_main_context_push_thread_default(context);
      // verify_tls: the default database (the system's CAs, through glib-networking).
      GTlsDatabase* accept_all =
          options.verify_tls
              ? nullptr
              : G_TLS_DATABASE(g_object_new(lp_accept_all_database_get_type(), nullptr));
      // Deadlines are ours (per request, not per read); idle keep-alive connections are kept a
      // minute, as go-livepeer's orchestrator keeps them. libsoup allows 2 connections per host
      // by default, and an HTTP/1.1 connection is busy for a segment's whole transcode: a third
      // segment in flight would queue inside libsoup while its deadline runs (go-livepeer's
      // client has no such cap). The callers bound concurrency (max-in-flight), not the session.
      session =
          soup_session_new_with_options("timeout", 0u, "idle-timeout", 60u, "max-conns-per-host",
                                        kMaxConnsPerHost, "max-conns", kMaxConns, nullptr);
      if (accept_all) {
        soup_session_set_tls_database(session, accept_all);
        g_object_unref(accept_all);
      }
      {
        // Notified under the lock: started_cv lives on the constructor's stack, which may
        // return (and destroy it) as soon as the lock is free (ThreadSanitizer saw the
        // broadcast race the destructor).
        std::lock_guard lock(started_mu);
        started = true;
        started_cv.notify_all();
      }
      g_main_loop_run(loop);
      soup_session_abort(session);
      g_clear_object(&session);
      // Let the aborted connections' sources finish before the context goes.
      while (g_main_context_iteration(context, FALSE)) {
      }
      g_main_context_pop_thread_default(context);
    });
    std::unique_lock lock(started_mu);
    started_cv.wait(lock, [&] { return started; });
  }

  ~Impl() {
    cancel_all();
    {
      // Cancelled requests finish on the I/O thread at its next turn.
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return active.empty(); });
    }
    g_main_loop_quit(loop);
    thread.join();
    g_main_loop_unref(loop);
    g_main_context_unref(context);
  }

  void cancel_all() {
    {
      std::lock_guard lock(mu);
      cancelled = true;
      for (const auto& c : active) g_cancellable_cancel(c->cancellable);
    }
    g_main_context_invoke(
        context,
        [](gpointer p) -> gboolean {
          auto* self = static_cast<Impl*>(p);
          std::vector<std::shared_ptr<Call>> open;
          {
            std::lock_guard lock(self->mu);
            open.assign(self->active.begin(), self->active.end());
          }
          for (const auto& c : open) self->end_cancelled(c);
          return G_SOURCE_REMOVE;
        },
        this);
  }

  /// Runs a call on the I/O thread and waits for it to end.
  SegmentClient::Response run(std::shared_ptr<Call> call) {
    {
      std::lock_guard lock(mu);
      if (cancelled) {
        SegmentClient::Response r;
        r.error = "cancelled";
        r.error_code = "cancelled";
        if (call->on_headers) call->on_headers();
        return r;
      }
      active.insert(call);
      ++counters.requests;
    }
    {
      // Handed over through our own lock, not through the main context's invoke data: the
      // I/O thread then sees everything this thread wrote into the call (and ThreadSanitizer
      // sees the hand-over, which GLib's uninstrumented lock hides from it).
      std::lock_guard lock(mu);
      incoming.push_back(call);
    }
    g_main_context_invoke(
        context,
        [](gpointer p) -> gboolean {
          static_cast<Impl*>(p)->start_incoming();
          return G_SOURCE_REMOVE;
        },
        this);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return call->done; });
    return std::move(call->response);
  }

  // --- I/O thread ---

  void start_incoming() {
    for (;;) {
      std::shared_ptr<Call> call;
      {
        std::lock_guard lock(mu);
        if (incoming.empty()) return;
        call = std::move(incoming.front());
        incoming.pop_front();
      }
      start(call);
    }
  }

  using Held = std::pair<Impl*, std::shared_ptr<Call>>;

  void arm(const std::shared_ptr<Call>& call, Clock::time_point when) {
    if (call->timer) {
      g_source_destroy(call->timer);
      g_source_unref(call->timer);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now());
    call->timer = g_timeout_source_new(static_cast<guint>(std::max<std::int64_t>(1, left.count())));
    g_source_set_callback(
        call->timer,
        [](gpointer p) -> gboolean {
          const auto& [self, c] = *static_cast<Held*>(p);
          c->expired = true;
          g_cancellable_cancel(c->cancellable);
          self->end_cancelled(c);
          return G_SOURCE_REMOVE;
        },
        new Held(this, call), [](gpointer p) { delete static_cast<Held*>(p); });
    g_source_attach(call->timer, context);
  }

  /// A cancelled call ends within kCancelGraceMs, whether or not libsoup ends it: libsoup 3.2
  /// completes neither an HTTP/2 request whose status line is in and whose body has not begun
  /// (an orchestrator's 200 during the transcode) nor its cancellation until a DATA frame
  /// arrives, and a deadline or a stop must not wait for the transcode.
  void end_cancelled(const std::shared_ptr<Call>& call) {
    GSource* later = g_timeout_source_new(kCancelGraceMs);
    g_source_set_callback(
        later,
        [](gpointer p) -> gboolean {
          const auto& [self, c] = *static_cast<Held*>(p);
          if (!c->finished) {
            GError* err = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
            self->finish(c, err);
            g_error_free(err);
          }
          return G_SOURCE_REMOVE;
        },
        new Held(this, call), [](gpointer p) { delete static_cast<Held*>(p); });
    g_source_attach(later, context);
    g_source_unref(later);
  }

  void tell_headers(const std::shared_ptr<Call>& call) {
    if (call->headers_told) return;
    call->headers_told = true;
    if (call->on_headers) call->on_headers();
  }

  void finish(const std::shared_ptr<Call>& call, GError* err) {
    if (std::exchange(call->finished, true)) return;
    if (call->timer) {
      g_source_destroy(call->timer);
      g_source_unref(call->timer);
      call->timer = nullptr;
    }
    tell_headers(call);
    SegmentClient::Response& r = call->response;
    if (err) {
      // After the status line (a body cut short or late) the answer counts as received: a
      // payment it carried was delivered (go-livepeer: CreditSpent once a response arrived).
      const bool answered = r.status != 0 && (call->in != nullptr || call->got_headers);
      if (call->refused_address) {
        r.error =
            "refused to connect to " + call->peer + ", a loopback, private or link-local address";
        r.error_code = "private_address";
      } else if (call->too_large) {
        r.error = "the answer is longer than " + std::to_string(options.max_body) + " bytes";
        r.error_code = "too_large";
      } else if (call->expired) {
        r.error = answered ? "timed out reading the answer" : "timed out";
        r.error_code = answered ? "body_timeout" : "timeout";
      } else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        r.error = "cancelled";
        r.error_code = "cancelled";
      } else {
        r.error = err->message;
        r.error_code = answered ? "body_read" : "http_transport";
      }
      if (!answered || call->too_large) r.status = 0;
      r.body.clear();
    }
    if (call->in) g_input_stream_close(call->in, nullptr, nullptr);
    if (call->got_headers_id) g_signal_handler_disconnect(call->msg, call->got_headers_id);
    call->got_headers_id = 0;
    // libsoup's objects are released on the thread that runs them.
    g_clear_object(&call->in);
    g_clear_object(&call->msg);
    {
      std::lock_guard lock(mu);
      call->done = true;
      active.erase(call);
    }
    cv.notify_all();
  }

  static void on_network_event(SoupMessage*, GSocketClientEvent event, GIOStream*, gpointer p) {
    auto* self = static_cast<Impl*>(p);
    std::lock_guard lock(self->mu);
    if (event == G_SOCKET_CLIENT_CONNECTED) ++self->counters.connections;
    if (event == G_SOCKET_CLIENT_TLS_HANDSHAKED) ++self->counters.tls_handshakes;
  }

  // allow_private off: the address actually connected to is checked (not a name resolved
  // beforehand, which could resolve differently on the connect), before the request is written.
  static void on_connected_check(SoupMessage*, GSocketClientEvent event, GIOStream* conn,
                                 gpointer p) {
    if (event != G_SOCKET_CLIENT_CONNECTED || !G_IS_SOCKET_CONNECTION(conn)) return;
    auto* call = static_cast<Call*>(p);
    GSocketAddress* remote =
        g_socket_connection_get_remote_address(G_SOCKET_CONNECTION(conn), nullptr);
    std::string ip;
    if (remote && G_IS_INET_SOCKET_ADDRESS(remote)) {
      gchar* s = g_inet_address_to_string(
          g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)));
      ip = s;
      g_free(s);
    }
    g_clear_object(&remote);
    if (!is_private_address(ip)) return;
    call->refused_address = true;
    call->peer = ip.empty() ? "a non-IP address" : ip;
    g_cancellable_cancel(call->cancellable);
  }

  static void on_got_headers(SoupMessage* msg, gpointer p) {
    auto* a = static_cast<std::pair<Impl*, std::shared_ptr<Call>>*>(p);
    const auto& c = a->second;
    const guint status = soup_message_get_status(msg);
    if (status < 200 || (status >= 300 && status < 400)) return;  // a redirect goes on
    c->got_headers = true;
    c->response.status = status;
    a->first->tell_headers(c);
    if (c->done_by != c->headers_by) a->first->arm(c, c->done_by);
  }

  void start(const std::shared_ptr<Call>& call) {
    const bool http = g_ascii_strncasecmp(call->url.c_str(), "http://", 7) == 0 ||
                      g_ascii_strncasecmp(call->url.c_str(), "https://", 8) == 0;
    call->msg = http ? soup_message_new(call->method.c_str(), call->url.c_str()) : nullptr;
    if (!call->msg) {
      call->response.error = "not an http(s) URL: " + call->url.substr(0, 200);
      call->response.error_code = "bad_url";
      finish(call, nullptr);
      return;
    }
    // Reuse idle connections for POST too (libsoup opens a new one for every non-idempotent
    // request otherwise: a TLS handshake per segment). A segment POST is safe to resend on a
    // reused connection that turned out closed: the orchestrator refuses a replayed payment.
    soup_message_add_flags(call->msg, SOUP_MESSAGE_IDEMPOTENT);
    SoupMessageHeaders* h = soup_message_get_request_headers(call->msg);
    std::string body_type = kSegmentContentType;
    for (const auto& [name, value] : call->headers) {
      if (g_ascii_strcasecmp(name.c_str(), "Expect") == 0)
        soup_message_headers_set_expectations(h, SOUP_EXPECTATION_CONTINUE);
      else if (g_ascii_strcasecmp(name.c_str(), "Content-Type") == 0)
        body_type = value;  // set with the body
      else
        soup_message_headers_append(h, name.c_str(), value.c_str());
    }
    if (!call->body.empty()) {
      GBytes* b = g_bytes_new(call->body.data(), call->body.size());
      soup_message_set_request_body_from_bytes(call->msg, body_type.c_str(), b);
      g_bytes_unref(b);
    }
    g_signal_connect(call->msg, "network-event", G_CALLBACK(on_network_event), this);
    // The message lives no longer than the call (finish() drops it first).
    if (!options.allow_private)
      g_signal_connect(call->msg, "network-event", G_CALLBACK(on_connected_check), call.get());
    // The status line, as soon as it is in: over HTTP/2, libsoup 3.2 completes send_async only
    // when the first DATA frame arrives, and an orchestrator sends 200 at once and the result
    // when the transcode is done; the 200 deadline must not cover the transcode.
    auto* early = new std::pair<Impl*, std::shared_ptr<Call>>(this, call);
    call->got_headers_id = g_signal_connect_data(
        call->msg, "got-headers", G_CALLBACK(on_got_headers), early,
        [](gpointer p, GClosure*) {
          delete static_cast<std::pair<Impl*, std::shared_ptr<Call>>*>(p);
        },
        static_cast<GConnectFlags>(0));
    arm(call, call->headers_by);
    auto* holder = new std::pair<Impl*, std::shared_ptr<Call>>(this, call);
    soup_session_send_async(
        session, call->msg, G_PRIORITY_DEFAULT, call->cancellable,
        [](GObject* source, GAsyncResult* res, gpointer p) {
          std::unique_ptr<std::pair<Impl*, std::shared_ptr<Call>>> a(
              static_cast<std::pair<Impl*, std::shared_ptr<Call>>*>(p));
          Impl* self = a->first;
          const auto& c = a->second;
          GError* err = nullptr;
          GInputStream* in = soup_session_send_finish(SOUP_SESSION(source), res, &err);
          if (c->finished) {  // ended without libsoup (end_cancelled)
            g_clear_object(&in);
            g_clear_error(&err);
            return;
          }
          c->in = in;
          c->response.status = soup_message_get_status(c->msg);
          if (!c->in) {
            self->finish(c, err);
            g_clear_error(&err);
            return;
          }
          const goffset declared =
              soup_message_headers_get_content_length(soup_message_get_response_headers(c->msg));
          if (self->options.max_body > 0 && declared > 0 &&
              static_cast<std::size_t>(declared) > self->options.max_body) {
            c->too_large = true;
            g_cancellable_cancel(c->cancellable);
          }
          if (!c->got_headers) {
            c->got_headers = true;
            self->tell_headers(c);
            if (c->done_by != c->headers_by) self->arm(c, c->done_by);
          }
          self->read_more(c);
        },
        holder);
  }

  void read_more(const std::shared_ptr<Call>& call) {
    auto* holder = new std::pair<Impl*, std::shared_ptr<Call>>(this, call);
    g_input_stream_read_bytes_async(
        call->in, kReadChunk, G_PRIORITY_DEFAULT, call->cancellable,
        [](GObject* source, GAsyncResult* res, gpointer p) {
          std::unique_ptr<std::pair<Impl*, std::shared_ptr<Call>>> a(
              static_cast<std::pair<Impl*, std::shared_ptr<Call>>*>(p));
          GError* err = nullptr;
          GBytes* chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &err);
          const auto& c = a->second;
          if (c->finished) {  // ended without libsoup (end_cancelled)
            if (chunk) g_bytes_unref(chunk);
            g_clear_error(&err);
            return;
          }
          if (!chunk) {
            a->first->finish(c, err);
            g_clear_error(&err);
            return;
          }
          gsize n = 0;
          const auto* d = static_cast<const char*>(g_bytes_get_data(chunk, &n));
          if (n > 0) c->response.body.append(d, n);
          g_bytes_unref(chunk);
          const std::size_t limit = a->first->options.max_body;
          if (limit > 0 && c->response.body.size() > limit) {
            c->too_large = true;
            g_cancellable_cancel(c->cancellable);
            GError* cut = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "too large");
            a->first->finish(c, cut);
            g_error_free(cut);
            return;
          }
          if (n == 0)
            a->first->finish(c, nullptr);
          else
            a->first->read_more(c);
        },
        holder);
  }
};

namespace {

Error http_error(const std::string& url, const SegmentClient::Response& r) {
  if (!r.error.empty()) {
    const bool refused = r.error_code == "bad_url" || r.error_code == "private_address" ||
                         r.error_code == "too_large";
    const ErrorKind kind = refused                       ? ErrorKind::invalid_input
                           : r.error_code == "cancelled" ? ErrorKind::fatal
                                                         : ErrorKind::retryable;
    return make_error(kind, r.error_code.empty() ? "http_transport" : r.error_code,
                      url + ": " + r.error);
  }
  const ErrorKind kind = r.status == 402   ? ErrorKind::payment_required
                         : r.status >= 500 ? ErrorKind::retryable
                         : r.status == 400 ? ErrorKind::invalid_input
                                           : ErrorKind::forbidden;
  std::string text = r.body.substr(0, 512);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // go-livepeer's answers are texts: the ones a gateway acts on become codes here, at the wire,
  // so that no decision further up reads a message.
  std::string code = "http_" + std::to_string(r.status);
  for (const auto& [answer, named] : {std::pair{"TicketParams expired", "ticket_params_expired"},
                                      std::pair{"OrchestratorBusy", "orchestrator_busy"},
                                      std::pair{"OrchestratorCapped", "orchestrator_capped"},
                                      std::pair{"Insufficient balance", "insufficient_balance"}})
    if (text.find(answer) != std::string::npos) code = named;
  return make_error(kind, code, url + ": " + std::to_string(r.status) + " " + text);
}

}  // namespace

bool SegmentClient::answered(const Error& e) {
  return e.code != "http_transport" && e.code != "timeout" && e.code != "cancelled" &&
         e.code != "bad_url" && e.code != "private_address" && e.code != "too_large";
}

bool is_private_address(const std::string& ip) {
  GInetAddress* a = g_inet_address_new_from_string(ip.c_str());
  if (!a) return true;
  gsize n = g_inet_address_get_native_size(a);
  const guint8* b = g_inet_address_to_bytes(a);
  std::array<guint8, 16> v{};
  std::copy(b, b + n, v.begin());
  g_object_unref(a);
  // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address.
  if (n == 16 && std::all_of(v.begin(), v.begin() + 10, [](guint8 x) { return x == 0; }) &&
      v[10] == 0xff && v[11] == 0xff) {
    std::copy(v.begin() + 12, v.end(), v.begin());
    n = 4;
  }
  if (n == 4) {
    const guint8 x = v[0], y = v[1];
    return x == 0 || x == 10 || x == 127 || (x == 100 && (y & 0xc0) == 64) ||
           (x == 169 && y == 254) || (x == 172 && (y & 0xf0) == 16) || (x == 192 && y == 168) ||
           x >= 224;  // multicast, reserved and broadcast
  }
  const bool zero_head = std::all_of(v.begin(), v.begin() + 15, [](guint8 x) { return x == 0; });
  return (zero_head && v[15] <= 1)                   // :: and ::1
         || (v[0] & 0xfe) == 0xfc                    // fc00::/7 unique local
         || (v[0] == 0xfe && (v[1] & 0xc0) == 0x80)  // fe80::/10 link-local
         || (v[0] == 0xfe && (v[1] & 0xc0) == 0xc0)  // fec0::/10 site-local (deprecated)
         || v[0] == 0xff;                            // multicast
}

SegmentClient::SegmentClient() : SegmentClient(Options{}) {}

SegmentClient::SegmentClient(Options options) : impl_(std::make_unique<Impl>(options)) {}

SegmentClient::~SegmentClient() = default;

void SegmentClient::cancel_all() { impl_->cancel_all(); }

void SegmentClient::resume() {
  std::lock_guard lock(impl_->mu);
  impl_->cancelled = false;
}

SegmentClient::Counters SegmentClient::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

SegmentClient::Response SegmentClient::request(
    const std::string& method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    std::chrono::milliseconds timeout) {
  auto call = std::make_shared<Call>();
  call->method = method;
  call->url = url;
  call->headers = headers;
  call->body = body;
  call->headers_by = call->done_by = Clock::now() + timeout;
  return impl_->run(call);
}

Result<::net::TranscodeResult> SegmentClient::submit(const std::string& transcoder,
                                                     const std::string& payment_header,
                                                     const std::string& segment_header,
                                                     const std::string& body,
                                                     std::chrono::seconds timeout) {
  return submit(transcoder, payment_header, segment_header, body, timeout, timeout, {});
}

Result<::net::TranscodeResult> SegmentClient::submit(const std::string& transcoder,
                                                     const std::string& payment_header,
                                                     const std::string& segment_header,
                                                     const std::string& body,
                                                     std::chrono::milliseconds upload_timeout,
                                                     std::chrono::milliseconds timeout,
                                                     const std::function<void()>& on_uploaded) {
  auto call = std::make_shared<Call>();
  call->method = "POST";
  call->url = transcoder + kSegmentPath;
  call->headers = {{kPaymentHeader, payment_header}, {kSegmentHeader, segment_header}};
  call->body = body;
  const auto now = Clock::now();
  call->headers_by = now + std::min(upload_timeout, timeout);
  call->done_by = now + timeout;
  call->on_headers = on_uploaded;
  Response r = impl_->run(call);
  if (!r.error.empty() || r.status != 200) return http_error(call->url, r);
  ::net::TranscodeResult result;
  if (!result.ParseFromString(r.body))
    return make_error(ErrorKind::retryable, "bad_protobuf",
                      call->url + ": the answer is not a TranscodeResult");
  return result;
}

Result<std::string> SegmentClient::fetch(const std::string& url,
                                         std::chrono::milliseconds timeout) {
  Response r = request("GET", url, {}, {}, timeout);
  if (!r.error.empty() || r.status != 200) return http_error(url, r);
  return std::move(r.body);
}

}  // namespace lp::net
