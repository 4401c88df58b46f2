// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/net/segment_client.h"

#include <libsoup/soup.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

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

Error http_error(const std::string& url, const SegmentClient::Response& r) {
  if (!r.error.empty())
    return make_error(ErrorKind::retryable, "http_transport", url + ": " + r.error);
  const ErrorKind kind = r.status == 402   ? ErrorKind::payment_required
                         : r.status >= 500 ? ErrorKind::retryable
                                           : ErrorKind::forbidden;
  return make_error(kind, "http_" + std::to_string(r.status),
                    url + ": " + std::to_string(r.status) + " " + r.body);
}

/// A request as both calls send it; null when the URL is not one.
SoupMessage* new_message(const std::string& method, const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body) {
  SoupMessage* msg = soup_message_new(method.c_str(), url.c_str());
  if (!msg) return nullptr;
  // Reuse idle connections for POST too (libsoup opens a new one for every non-idempotent
  // request otherwise: a TLS handshake per segment). A segment POST is safe to resend on a
  // reused connection that turned out closed: the orchestrator refuses a replayed payment.
  soup_message_add_flags(msg, SOUP_MESSAGE_IDEMPOTENT);
  SoupMessageHeaders* h = soup_message_get_request_headers(msg);
  for (const auto& [name, value] : headers) {
    if (g_ascii_strcasecmp(name.c_str(), "Expect") == 0)
      soup_message_headers_set_expectations(h, SOUP_EXPECTATION_CONTINUE);
    else
      soup_message_headers_append(h, name.c_str(), value.c_str());
  }
  if (!body.empty()) {
    GBytes* b = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(msg, "video/MP2T", b);
    g_bytes_unref(b);
  }
  return msg;
}

}  // namespace

SegmentClient::SegmentClient() {
  GTlsDatabase* accept_all =
      G_TLS_DATABASE(g_object_new(lp_accept_all_database_get_type(), nullptr));
  session_ = soup_session_new_with_options("tls-database", accept_all, nullptr);
  g_object_unref(accept_all);
}

SegmentClient::~SegmentClient() { g_object_unref(session_); }

SegmentClient::Response SegmentClient::request(
    const std::string& method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    std::chrono::seconds timeout) {
  Response r;
  SoupMessage* msg = new_message(method, url, headers, body);
  if (!msg) {
    r.error = "not a URL: " + url;
    return r;
  }
  soup_session_set_timeout(session_, static_cast<guint>(timeout.count()));
  GError* err = nullptr;
  GBytes* out = soup_session_send_and_read(session_, msg, nullptr, &err);
  r.status = soup_message_get_status(msg);
  if (out) {
    gsize n = 0;
    const char* d = static_cast<const char*>(g_bytes_get_data(out, &n));
    r.body.assign(d, n);
    g_bytes_unref(out);
  }
  if (err) r.error = err->message;
  g_clear_error(&err);
  g_object_unref(msg);
  return r;
}

Result<::net::TranscodeResult> SegmentClient::submit(const std::string& transcoder,
                                                     const std::string& payment_header,
                                                     const std::string& segment_header,
                                                     const std::string& body,
                                                     std::chrono::seconds timeout) {
  return submit(transcoder, payment_header, segment_header, body, timeout, timeout, {});
}

namespace {

/// Cancels a request when its deadline passes (libsoup's own timeout is per read, not per request).
class Deadline {
 public:
  Deadline() : cancellable_(g_cancellable_new()) {}
  ~Deadline() {
    stop();
    g_object_unref(cancellable_);
  }
  void arm(std::chrono::milliseconds after) {
    stop();
    std::lock_guard lock(mu_);
    done_ = false;
    expired_ = false;
    thread_ = std::thread([this, after] {
      std::unique_lock wait_lock(mu_);
      if (!cv_.wait_for(wait_lock, after, [this] { return done_; })) {
        expired_ = true;
        g_cancellable_cancel(cancellable_);
      }
    });
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool expired() {
    std::lock_guard lock(mu_);
    return expired_;
  }
  GCancellable* cancellable() const { return cancellable_; }

 private:
  GCancellable* cancellable_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = true;      // guarded by mu_
  bool expired_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace

Result<::net::TranscodeResult> SegmentClient::submit(const std::string& transcoder,
                                                     const std::string& payment_header,
                                                     const std::string& segment_header,
                                                     const std::string& body,
                                                     std::chrono::milliseconds upload_timeout,
                                                     std::chrono::milliseconds timeout,
                                                     const std::function<void()>& on_uploaded) {
  const std::string url = transcoder + "/segment";
  bool uploaded_told = false;
  auto uploaded = [&] {
    if (!uploaded_told && on_uploaded) on_uploaded();
    uploaded_told = true;
  };
  SoupMessage* msg = new_message(
      "POST", url, {{"Livepeer-Payment", payment_header}, {"Livepeer-Segment", segment_header}},
      body);
  if (!msg) {
    uploaded();
    return make_error(ErrorKind::invalid_input, "bad_url", "not a URL: " + url);
  }
  const auto whole = std::chrono::ceil<std::chrono::seconds>(timeout);
  soup_session_set_timeout(session_, static_cast<guint>(std::max<std::int64_t>(1, whole.count())));
  Deadline deadline;
  const auto started = std::chrono::steady_clock::now();
  deadline.arm(upload_timeout);
  GError* err = nullptr;
  GInputStream* in = soup_session_send(session_, msg, deadline.cancellable(), &err);
  Response r;
  r.status = soup_message_get_status(msg);
  uploaded();
  if (in) {
    deadline.arm(std::max(std::chrono::milliseconds(1),
                          timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - started)));
    char chunk[65536];
    for (;;) {
      const gssize n = g_input_stream_read(in, chunk, sizeof chunk, deadline.cancellable(), &err);
      if (n <= 0) break;
      r.body.append(chunk, static_cast<std::size_t>(n));
    }
    g_input_stream_close(in, nullptr, nullptr);
    g_object_unref(in);
  }
  deadline.stop();
  if (err) r.error = deadline.expired() ? std::string("timed out") : std::string(err->message);
  g_clear_error(&err);
  g_object_unref(msg);
  if (!r.error.empty() || r.status != 200) return http_error(url, r);
  ::net::TranscodeResult result;
  if (!result.ParseFromString(r.body))
    return make_error(ErrorKind::retryable, "bad_protobuf",
                      url + ": the answer is not a TranscodeResult");
  return result;
}

Result<std::string> SegmentClient::fetch(const std::string& url, std::chrono::seconds timeout) {
  Response r = request("GET", url, {}, {}, timeout);
  if (!r.error.empty() || r.status != 200) return http_error(url, r);
  return r.body;
}

}  // namespace lp::net
