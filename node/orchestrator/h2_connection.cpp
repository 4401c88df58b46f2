// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/h2_connection.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdio>

namespace lp::orch {

namespace {

constexpr std::size_t kReadChunk = std::size_t{256} * 1024;
constexpr std::size_t kWriteChunk = std::size_t{256} * 1024;
// A segment (a few MB) uploads without waiting on WINDOW_UPDATEs: the body is kept whole
// anyway, within the body limit, so a large window adds no buffering of its own.
constexpr std::int32_t kStreamWindow = 8 << 20;
constexpr std::int32_t kConnectionWindow = 32 << 20;  // all streams together

bool lower_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return g_ascii_tolower(x) == g_ascii_tolower(y);
         });
}

nghttp2_nv nv(const std::string& name, const std::string& value) {
  // nghttp2 copies names and values when a frame is submitted.
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

// gRPC's grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself.
std::string percent_encode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

GSource* add_thread_timeout(unsigned seconds, GSourceFunc fn, gpointer data) {
  GSource* source = g_timeout_source_new_seconds(seconds);
  g_source_set_callback(source, fn, data, nullptr);
  g_source_attach(source, g_main_context_get_thread_default());
  return source;
}

void drop_source(GSource*& source) {
  if (!source) return;
  g_source_destroy(source);
  g_source_unref(source);
  source = nullptr;
}

std::string_view H2Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (lower_equal(n, name)) return v;
  return {};
}

std::optional<std::size_t> H2Request::content_length() const {
  const std::string_view v = header("content-length");
  if (v.empty() || v.size() > 18 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return static_cast<std::size_t>(std::stoull(std::string(v)));
}

bool H2Request::grpc() const {
  const std::string_view type = header("content-type");
  return type.substr(0, 16) == "application/grpc";
}

struct H2Connection::Stream {
  H2Request req;
  std::size_t header_bytes = 0;
  std::size_t body_limit = 0;
  bool headers_too_large = false;
  bool refused = false;       // answered from its headers: the body is not kept
  bool request_done = false;  // the client's END_STREAM arrived
  bool responded = false;
  bool answer_out = false;  // the answer's END_STREAM was sent
  // The answer's body, sent by the data provider as far as it goes.
  std::string out;
  std::size_t out_pos = 0;
  bool out_complete = false;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// nghttp2's callbacks, as friends of the connection.
struct H2Callbacks {
  static H2Connection& conn(void* user) { return *static_cast<H2Connection*>(user); }

  // LP_H2_TRACE=1: every frame in and out on stderr (frame type, stream, flags, length).
  static void trace(const char* dir, const nghttp2_frame* frame, const void* user) {
    static const bool on = g_getenv("LP_H2_TRACE") != nullptr;
    if (on)
      std::fprintf(stderr, "h2 %p %s type %u stream %d flags 0x%x length %zu\n", user, dir,
                   frame->hd.type, frame->hd.stream_id, frame->hd.flags, frame->hd.length);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto& c = conn(user);
    auto s = std::make_unique<H2Connection::Stream>();
    s->req.stream = frame->hd.stream_id;
    c.streams_[frame->hd.stream_id] = std::move(s);
    drop_source(c.idle_timer_);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    H2Connection::Stream* s = conn(user).find(frame->hd.stream_id);
    if (!s || s->headers_too_large) return 0;
    s->header_bytes += namelen + valuelen + 32;  // RFC 9113's accounting of a header's size
    if (s->header_bytes > conn(user).limits_.max_header_bytes) {
      s->headers_too_large = true;
      s->req.headers.clear();
      return 0;
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method")
      s->req.method = std::move(v);
    else if (n == ":path")
      s->req.path = std::move(v);
    else if (n.empty() || n[0] != ':')
      s->req.headers.emplace_back(std::string(n), std::move(v));
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream,
                           const std::uint8_t* data, std::size_t len, void* user) {
    auto& c = conn(user);
    H2Connection::Stream* s = c.find(stream);
    if (!s || s->refused) return 0;
    if (s->req.body.size() + len > s->body_limit) {
      s->req.body.clear();
      s->req.body.shrink_to_fit();
      c.refuse(stream, {413, "text/plain", "request body too large"});
      return 0;
    }
    s->req.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    trace("recv", frame, user);
    auto& c = conn(user);
    const std::int32_t id = frame->hd.stream_id;
    H2Connection::Stream* s = c.find(id);
    if (!s) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (s->headers_too_large) {
        c.refuse(id, {431, "text/plain", "request headers too large"});
      } else {
        auto verdict = c.handler_.on_headers(s->req);
        if (auto* reply = std::get_if<H2Reply>(&verdict))
          c.refuse(id, *reply);
        else
          s->body_limit = std::get<std::size_t>(verdict);
      }
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      s->request_done = true;
      if (!s->refused) c.handler_.on_request(c.shared_from_this(), std::move(s->req));
    } else if (frame->hd.type == NGHTTP2_DATA && s->refused && s->answer_out) {
      // The body still comes after the refusal is out: the client may stop (RFC 9113 8.1).
      nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    trace("send", frame, user);
    // A refused request's answer is out. Its stream is reset (NO_ERROR) at the next DATA
    // frame that still comes: a body already on its way to its end (a small one, sent with
    // the headers) is not met with a reset, which some clients (curl 7.88) take for a failure.
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      return 0;
    H2Connection::Stream* s = conn(user).find(frame->hd.stream_id);
    if (s && s->refused) s->answer_out = true;
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream, std::uint32_t, void* user) {
    auto& c = conn(user);
    c.streams_.erase(stream);
    if (c.streams_.empty()) c.arm_idle();
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, std::int32_t stream, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                           void* user) {
    H2Connection::Stream* s = conn(user).find(stream);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t n = std::min(length, s->out.size() - s->out_pos);
    std::copy_n(s->out.data() + s->out_pos, n, buf);
    s->out_pos += n;
    if (s->out_pos < s->out.size()) return static_cast<ssize_t>(n);
    if (!s->out_complete) return n ? static_cast<ssize_t>(n) : ssize_t{NGHTTP2_ERR_DEFERRED};
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s->trailers.empty()) {
      std::vector<nghttp2_nv> nva;
      for (const auto& [k, v] : s->trailers) nva.push_back(nv(k, v));
      if (nghttp2_submit_trailer(session, stream, nva.data(), nva.size()) == 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    s->out.clear();
    s->out_pos = 0;
    return static_cast<ssize_t>(n);
  }
};

H2Connection::H2Connection(GIOStream* stream, Handler handler, Limits limits)
    : io_(G_IO_STREAM(g_object_ref(stream))),
      handler_(std::move(handler)),
      limits_(limits),
      cancel_(g_cancellable_new()),
      in_(kReadChunk) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, H2Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, H2Callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::on_stream_close);
  nghttp2_session_server_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
}

H2Connection::~H2Connection() {
  drop_source(idle_timer_);
  nghttp2_session_del(session_);
  g_object_unref(cancel_);
  g_object_unref(io_);
}

void H2Connection::start() {
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(limits_.max_header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  auto keep = shared_from_this();
  arm_idle();
  flush();
  read_more();
}

H2Connection::Stream* H2Connection::find(std::int32_t stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2Connection::refuse(std::int32_t stream, const H2Reply& reply) {
  Stream* s = find(stream);
  if (!s || s->responded) return;
  s->refused = true;
  respond(stream, reply);
}

void H2Connection::submit(std::int32_t stream, int status, const std::string& content_type,
                          std::vector<std::pair<std::string, std::string>> trailers,
                          bool has_body) {
  Stream* s = find(stream);
  if (!s || s->responded || broken_) return;
  s->responded = true;
  s->trailers = std::move(trailers);
  const std::string st = std::to_string(status);
  const std::string k_status = ":status", k_type = "content-type", k_len = "content-length";
  std::vector<nghttp2_nv> nva = {nv(k_status, st)};
  if (!content_type.empty()) nva.push_back(nv(k_type, content_type));
  const std::string len = std::to_string(s->out.size());
  if (s->out_complete && s->trailers.empty()) nva.push_back(nv(k_len, len));
  nghttp2_data_provider body{};
  body.read_callback = H2Callbacks::read_body;
  nghttp2_submit_response(session_, stream, nva.data(), nva.size(), has_body ? &body : nullptr);
  flush();
}

void H2Connection::respond(std::int32_t stream, const H2Reply& reply) {
  if (Stream* s = find(stream)) {
    s->out = reply.body;
    s->out_complete = true;
    submit(stream, reply.status, reply.content_type, {}, true);
  }
}

void H2Connection::respond_headers(std::int32_t stream, int status,
                                   const std::string& content_type) {
  submit(stream, status, content_type, {}, true);
}

void H2Connection::finish(std::int32_t stream, std::string body) {
  Stream* s = find(stream);
  if (!s || broken_) return;
  if (s->out.empty())
    s->out = std::move(body);
  else
    s->out += body;
  s->out_complete = true;
  nghttp2_session_resume_data(session_, stream);
  flush();
}

void H2Connection::respond_grpc(std::int32_t stream, int code, const std::string& message,
                                const std::string& body) {
  Stream* s = find(stream);
  if (!s) return;
  const std::string k_status = ":status", ok = "200", k_type = "content-type",
                    grpc_type = "application/grpc", k_code = "grpc-status",
                    k_message = "grpc-message";
  const std::string code_text = std::to_string(code), text = percent_encode(message);
  if (code != 0) {
    // Trailers-only: the status travels in the one HEADERS frame that ends the stream.
    if (s->responded || broken_) return;
    s->responded = true;
    std::vector<nghttp2_nv> nva = {nv(k_status, ok), nv(k_type, grpc_type), nv(k_code, code_text)};
    if (!text.empty()) nva.push_back(nv(k_message, text));
    nghttp2_submit_response(session_, stream, nva.data(), nva.size(), nullptr);
    flush();
    return;
  }
  // A length-prefixed message: no compression, the length in 4 big-endian bytes.
  s->out.assign(5, '\0');
  const auto n = static_cast<std::uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) s->out[1 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  s->out += body;
  s->out_complete = true;
  submit(stream, 200, grpc_type, {{k_code, "0"}}, true);
}

void H2Connection::shutdown() {
  if (closed_ || broken_) return;
  shutting_down_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  flush();
}

void H2Connection::abort() {
  broken_ = true;
  g_cancellable_cancel(cancel_);
  maybe_closed();
}

void H2Connection::arm_idle() {
  if (idle_timer_ || closed_) return;
  idle_timer_ = add_thread_timeout(
      limits_.idle_seconds,
      [](gpointer self) -> gboolean {
        auto* c = static_cast<H2Connection*>(self);
        drop_source(c->idle_timer_);
        nghttp2_session_terminate_session(c->session_, NGHTTP2_NO_ERROR);
        c->flush();
        return G_SOURCE_REMOVE;
      },
      this);
}

void H2Connection::read_more() {
  if (reading_ || broken_ || closed_) return;
  if (!nghttp2_session_want_read(session_)) {
    maybe_closed();
    return;
  }
  reading_ = true;
  g_input_stream_read_async(g_io_stream_get_input_stream(io_), in_.data(), in_.size(),
                            G_PRIORITY_DEFAULT, cancel_, on_read, this);
}

void H2Connection::on_read(GObject* source, GAsyncResult* res, gpointer self) {
  auto* c = static_cast<H2Connection*>(self);
  c->reading_ = false;
  const gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, nullptr);
  if (n <= 0) {
    c->broken_ = true;  // the peer left (or the read failed): nothing more can be answered
    c->maybe_closed();
    return;
  }
  auto keep = c->shared_from_this();  // a handler may drop its reference meanwhile
  c->in_recv_ = true;
  const auto rv = nghttp2_session_mem_recv(c->session_, c->in_.data(), static_cast<size_t>(n));
  c->in_recv_ = false;
  if (rv < 0) {
    // A protocol error: nghttp2 has queued its GOAWAY where it could; say it, then close.
    nghttp2_session_terminate_session(c->session_, NGHTTP2_PROTOCOL_ERROR);
  }
  c->flush();
  c->read_more();
}

void H2Connection::flush() {
  if (writing_ || broken_ || closed_ || in_recv_) return;
  while (sending_.size() < kWriteChunk) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    sending_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  if (sending_.empty()) {
    maybe_closed();
    return;
  }
  writing_ = true;
  g_output_stream_write_all_async(g_io_stream_get_output_stream(io_), sending_.data(),
                                  sending_.size(), G_PRIORITY_DEFAULT, cancel_, on_written, this);
}

void H2Connection::on_written(GObject* source, GAsyncResult* res, gpointer self) {
  auto* c = static_cast<H2Connection*>(self);
  auto keep = c->shared_from_this();
  c->writing_ = false;
  c->sending_.clear();
  if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, nullptr, nullptr)) {
    c->broken_ = true;
    c->maybe_closed();
    return;
  }
  c->flush();
  c->read_more();
}

void H2Connection::maybe_closed() {
  if (closed_) return;
  const bool done =
      broken_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) ||
      (shutting_down_ && streams_.empty() && !nghttp2_session_want_write(session_));
  if (!done || writing_) return;
  if (reading_) {
    g_cancellable_cancel(cancel_);  // on_read comes back here
    return;
  }
  closed_ = true;
  drop_source(idle_timer_);
  // The socket is closed first, so that closing TLS cannot wait on a peer that reads nothing
  // (its close_notify is not sent; HTTP/2's GOAWAY has said goodbye where there was time).
  GIOStream* base = nullptr;
  g_object_get(io_, "base-io-stream", &base, nullptr);
  if (base && G_IS_SOCKET_CONNECTION(base))
    g_socket_close(g_socket_connection_get_socket(G_SOCKET_CONNECTION(base)), nullptr);
  g_clear_object(&base);
  g_io_stream_close(io_, nullptr, nullptr);
  // A copy runs: the handler's own closure dies with this connection when it drops the last
  // reference.
  const auto on_closed = handler_.on_closed;
  on_closed(this);
}

}  // namespace lp::orch
