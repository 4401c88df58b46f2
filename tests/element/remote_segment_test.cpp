// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's remote transcoding against a scripted orchestrator: real gRPC (a real
// Orchestrator's GetOrchestrator, so ticket params and auth tokens are real) and a real HTTPS
// server on loopback whose /segment answers are chosen per request (pass to the real
// orchestrator, 402, 403, 500, too slow, connection dropped, a malformed TranscodeResult). Each
// case checks the error code the gateway sees and its books against go-livepeer's
// completeBalanceUpdate: never answered, the reserved credit comes back; answered without
// transcoded data, the credit is spent. Also: one TLS session for 30 segments, and a stop that
// does not wait for an orchestrator that stopped answering.
#include <gio/gio.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/remote_transcoder.h"
#include "elements/net/protocol.h"
#include "elements/net/tls.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/orchestrator.h"
#include "tests/element/fake_transcoder.h"
#include "tests/element/gst_env.h"
#include "tests/unit/payment_world.h"

namespace lp::gw {
namespace {

using Clock = std::chrono::steady_clock;

/// How the scripted server answers one /segment.
enum class Answer {
  pass,
  status_402,
  status_403,
  status_500,
  slow,
  drop,
  malformed,
  hang,
  together
};

/// An HTTPS server on its own thread and main context whose /segment answers follow a script;
/// /stream is served from the real orchestrator. It counts the TCP connections it accepted.
class ScriptedHttps {
 public:
  explicit ScriptedHttps(orch::Orchestrator& o) : o_(o) {
    auto tls = net::self_signed_cert("127.0.0.1").value();
    thread_ = std::thread([this, tls] { run(tls); });
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return port_ != 0; });
  }
  ~ScriptedHttps() {
    g_main_context_invoke(
        context_,
        [](gpointer l) -> gboolean {
          g_main_loop_quit(static_cast<GMainLoop*>(l));
          return G_SOURCE_REMOVE;
        },
        loop_);
    thread_.join();
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  void script(Answer a) {
    std::lock_guard lock(mu_);
    answer_ = a;
  }
  std::size_t connections() {
    std::lock_guard lock(mu_);
    return remote_ports_.size();
  }
  int segments() {
    std::lock_guard lock(mu_);
    return segments_;
  }
  /// Answer::together holds each /segment until this many are held at once, then answers all.
  void together(std::size_t n) {
    std::lock_guard lock(mu_);
    answer_ = Answer::together;
    together_ = n;
  }
  /// Waits until a /segment request has arrived.
  bool wait_segments(int n, std::chrono::seconds within) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, within, [&] { return segments_ >= n; });
  }

 private:
  void run(const net::CertKey& tls) {
    context_ = g_main_context_new();
    g_main_context_push_thread_default(context_);
    loop_ = g_main_loop_new(context_, FALSE);
    const std::string pem = tls.cert_pem + tls.key_pem;
    GTlsCertificate* cert = g_tls_certificate_new_from_pem(pem.c_str(), -1, nullptr);
    SoupServer* server = soup_server_new("tls-certificate", cert, nullptr);
    g_object_unref(cert);
    soup_server_add_handler(server, net::kSegmentPath, on_segment, this, nullptr);
    soup_server_add_handler(server, "/stream", on_stream, this, nullptr);
    g_signal_connect(server, "request-started", G_CALLBACK(on_request_started), this);
    GInetAddress* addr = g_inet_address_new_from_string("127.0.0.1");
    GSocketAddress* sa = g_inet_socket_address_new(addr, 0);
    EXPECT_TRUE(soup_server_listen(server, sa, SOUP_SERVER_LISTEN_HTTPS, nullptr));
    g_object_unref(sa);
    g_object_unref(addr);
    GSList* uris = soup_server_get_uris(server);
    {
      std::lock_guard lock(mu_);
      port_ = uris ? g_uri_get_port(static_cast<GUri*>(uris->data)) : -1;
    }
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
    cv_.notify_all();
    g_main_loop_run(loop_);
    soup_server_disconnect(server);
    g_object_unref(server);
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_loop_unref(loop_);
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
  }

  static void on_request_started(SoupServer*, SoupServerMessage* msg, gpointer data) {
    auto* self = static_cast<ScriptedHttps*>(data);
    GSocketAddress* remote = soup_server_message_get_remote_address(msg);
    if (!remote || !G_IS_INET_SOCKET_ADDRESS(remote)) return;
    std::lock_guard lock(self->mu_);
    self->remote_ports_.insert(g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(remote)));
  }

  static void respond(SoupServerMessage* msg, unsigned status, const char* type,
                      const std::string& body) {
    soup_server_message_set_status(msg, status, nullptr);
    soup_server_message_set_response(msg, type, SOUP_MEMORY_COPY, body.data(), body.size());
  }

  static void on_segment(SoupServer*, SoupServerMessage* msg, const char*, GHashTable*,
                         gpointer data) {
    auto* self = static_cast<ScriptedHttps*>(data);
    Answer a;
    {
      std::lock_guard lock(self->mu_);
      a = self->answer_;
      ++self->segments_;
    }
    self->cv_.notify_all();
    switch (a) {
      case Answer::pass: {
        SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
        const char* payment = soup_message_headers_get_one(h, net::kPaymentHeader);
        const char* segment = soup_message_headers_get_one(h, net::kSegmentHeader);
        SoupMessageBody* body = soup_server_message_get_request_body(msg);
        const orch::SegmentReply reply = self->o_.serve_segment(
            payment ? payment : "", segment ? segment : "",
            std::string_view(body->data, static_cast<std::size_t>(body->length)));
        respond(msg, static_cast<unsigned>(reply.status), reply.content_type.c_str(), reply.body);
        return;
      }
      case Answer::status_402:
        return respond(msg, 402, "text/plain", "Insufficient balance");
      case Answer::status_403:
        return respond(msg, 403, "text/plain", "OrchestratorCapped");
      case Answer::status_500:
        return respond(msg, 500, "text/plain", "transcoder died");
      case Answer::malformed:
        return respond(msg, 200, net::kProtobufContentType,
                       std::string("\xff\xff\xff garbage", 11));
      case Answer::drop: {
        // The connection goes away before any answer.
        GIOStream* stream = soup_server_message_steal_connection(msg);
        g_io_stream_close(stream, nullptr, nullptr);
        g_object_unref(stream);
        return;
      }
      case Answer::hang: {
        // go-livepeer's early 200 (the upload is taken), then no result ever: the request
        // waits for its whole deadline (8 s) unless it is cancelled.
        soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
        SoupMessageHeaders* rh = soup_server_message_get_response_headers(msg);
        soup_message_headers_set_encoding(rh, SOUP_ENCODING_CHUNKED);
        soup_message_headers_set_content_type(rh, net::kProtobufContentType, nullptr);
        return;
      }
      case Answer::together: {
        // go-livepeer's early 200 at once (the upload is taken, the next may start), the result
        // held (server thread only) until `together_` requests are open at the same time: a
        // client that caps its connections per host never gets there and times out. The
        // result is then garbage for all, so each ends "answered" (bad_protobuf), not timed out.
        soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
        SoupMessageHeaders* rh = soup_server_message_get_response_headers(msg);
        soup_message_headers_set_encoding(rh, SOUP_ENCODING_CHUNKED);
        soup_message_headers_set_content_type(rh, net::kProtobufContentType, nullptr);
        self->held_.push_back(g_object_ref(msg));
        std::size_t n;
        {
          std::lock_guard lock(self->mu_);
          n = self->together_;
        }
        if (self->held_.size() < n) return;
        for (gpointer m : self->held_) {
          auto* sm = static_cast<SoupServerMessage*>(m);
          SoupMessageBody* out = soup_server_message_get_response_body(sm);
          soup_message_body_append(out, SOUP_MEMORY_COPY, "\xff\xff\xff released", 12);
          soup_message_body_complete(out);
          soup_server_message_unpause(sm);
          g_object_unref(sm);
        }
        self->held_.clear();
        return;
      }
      case Answer::slow: {
        // No status line for longer than the gateway waits for one (2 s).
        soup_server_message_pause(msg);
        GSource* late = g_timeout_source_new_seconds(12);
        g_source_set_callback(
            late,
            [](gpointer m) -> gboolean {
              auto* sm = static_cast<SoupServerMessage*>(m);
              respond(sm, 500, "text/plain", "late");
              soup_server_message_unpause(sm);
              return G_SOURCE_REMOVE;
            },
            g_object_ref(msg), g_object_unref);
        g_source_attach(late, g_main_context_get_thread_default());
        g_source_unref(late);
        return;
      }
    }
  }

  static void on_stream(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                        gpointer data) {
    auto* self = static_cast<ScriptedHttps*>(data);
    auto parts = net::parse_rendition_path(path);
    auto found = parts ? self->o_.rendition(parts->session, parts->profile, parts->seq)
                       : std::optional<std::string>();
    if (found)
      respond(msg, 200, net::kSegmentContentType, *found);
    else
      respond(msg, 404, "text/plain", "not found");
  }

  orch::Orchestrator& o_;
  std::thread thread_;
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  int port_ = 0;                    // guarded by mu_
  Answer answer_ = Answer::pass;    // guarded by mu_
  int segments_ = 0;                // guarded by mu_
  std::set<guint16> remote_ports_;  // guarded by mu_
  std::size_t together_ = 0;        // guarded by mu_
  std::vector<gpointer> held_;      // server thread only
};

/// The renditions a cheap transcoder returns: the source bytes for each rung, 1000 pixels each
/// (what is charged is what is claimed; nothing here is verified).
std::shared_ptr<orch::Transcoder> echo_transcoder() {
  return std::make_shared<test::FakeTranscoder>([](const orch::SegmentIn& segment,
                                                   const test::FakeTranscoder::Real&)
                                                    -> test::FakeTranscoder::Renditions {
    return std::vector<orch::RenditionOut>{orch::RenditionOut{std::string(segment.bytes), 1000}};
  });
}

class RemoteSegment : public test::PaymentWorld {
 protected:
  void SetUp() override {
    PaymentWorld::SetUp();
    orch::OrchestratorConfig config;
    config.price = {1000, 1};
    o = std::make_unique<orch::Orchestrator>(config, orch, *recipient, echo_transcoder(), [] {
      return static_cast<std::int64_t>(time(nullptr));
    });
    https = std::make_unique<ScriptedHttps>(*o);
    o->set_service_uri(https->url());
    // gRPC from the service port; segments go to the scripted server the service URI names.
    service = std::make_unique<orch::HttpServer>(*o, net::self_signed_cert("127.0.0.1").value());
    target = "127.0.0.1:" + std::to_string(service->start("127.0.0.1", 0).value());
    wallet = std::make_unique<Wallet>(
        gw, std::shared_ptr<ledger::ChainReader>(std::shared_ptr<void>(), ledger.get()));
    payer = std::make_unique<WalletPayer>(*wallet);
    RemoteConfig rc;
    rc.orchestrators = {target};
    rc.ladder = media::parse_profiles("P240p30fps16x9").value();
    rc.attempts = 1;
    rt = std::make_unique<RemoteTranscoder>(rc, payer.get());
    ASSERT_EQ(rt->discover(), 1u);
  }
  void TearDown() override {
    rt.reset();
    service->stop();
    https.reset();
  }

  /// go-livepeer's deadlines for a 0.5 s segment are its floors: the 200 within 2 s, all
  /// within 8 s.
  RemoteOutcome segment(std::int64_t seq, double duration_seconds = 0.5) {
    SourceSegment s;
    s.manifest_id = "scripted";
    s.seq = seq;
    s.bytes = std::string(4096, static_cast<char>('a' + seq % 26));
    s.duration_seconds = duration_seconds;
    return rt->transcode(s, rt->place());
  }

  std::unique_ptr<orch::Orchestrator> o;
  std::unique_ptr<ScriptedHttps> https;
  std::unique_ptr<orch::HttpServer> service;
  std::string target;
  std::unique_ptr<Wallet> wallet;
  std::unique_ptr<WalletPayer> payer;
  std::unique_ptr<RemoteTranscoder> rt;
};

TEST_F(RemoteSegment, Pass_GivenAnHonestAnswer_CreditIsCreditPlusNewMinusFee) {
  const RemoteOutcome out = segment(0);
  ASSERT_TRUE(out.ok) << out.error;
  ASSERT_EQ(out.renditions.size(), 1u);
  EXPECT_EQ(out.renditions[0].pixels, 1000u);
  const WalletTotals t = wallet->totals();
  EXPECT_EQ(t.tickets_sent, 1u);
  EXPECT_EQ(t.debited, Rational(1000) * 1000);
  EXPECT_EQ(wallet->total_balance(), t.ev_sent - t.debited);
  EXPECT_EQ(o->stats().ticket_value_recv, t.ev_sent);  // the orchestrator credited what was sent
}

struct Case {
  Answer answer;
  const char* code;   // what the gateway's error says
  bool credit_spent;  // go-livepeer: answered -> CreditSpent; never answered -> Staged
};

class RemoteSegmentFailure : public RemoteSegment, public ::testing::WithParamInterface<Case> {};

TEST_P(RemoteSegmentFailure, Segment_GivenScriptedAnswer_CodeAndBooksAsGoLivepeer) {
  // First an honest segment leaves some credit with the orchestrator.
  ASSERT_TRUE(segment(0).ok);
  const Rational before = wallet->total_balance();
  ASSERT_GT(before, 0);
  const WalletTotals t0 = wallet->totals();

  https->script(GetParam().answer);
  const RemoteOutcome out = segment(1);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error_code, GetParam().code) << out.error;
  // The payment for segment 1 reserved the existing credit and added tickets (the credit left
  // was under one ticket's EV).
  const WalletTotals t1 = wallet->totals();
  EXPECT_EQ(t1.payments, t0.payments + (GetParam().credit_spent ? 1 : 0))
      << "a payment never delivered is not counted as sent";
  EXPECT_EQ(t1.debited, t0.debited);  // no fee: nothing came back
  if (GetParam().credit_spent)
    EXPECT_EQ(wallet->total_balance(), 0) << "answered: the existing and the new credit are spent";
  else
    EXPECT_EQ(wallet->total_balance(), before)
        << "never answered: the reserved credit comes back (" << out.error << ")";
  // A failure that is the orchestrator's doing suspends it; nothing is retried (attempts=1).
  EXPECT_EQ(out.attempts, 1);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  static const char* const names[] = {"Pass", "Status402", "Status403", "Status500",
                                      "Slow", "Dropped",   "Malformed", "Hang"};
  return names[static_cast<int>(info.param.answer)];
}

INSTANTIATE_TEST_SUITE_P(Scripted, RemoteSegmentFailure,
                         ::testing::Values(Case{Answer::status_402, "insufficient_balance", true},
                                           Case{Answer::status_403, "orchestrator_capped", true},
                                           Case{Answer::status_500, "http_500", true},
                                           Case{Answer::malformed, "bad_protobuf", true},
                                           Case{Answer::slow, "timeout", false},
                                           Case{Answer::drop, "http_transport", false}),
                         case_name);

TEST_F(RemoteSegment, ThirtySegments_GivenOneOrchestrator_OneTlsSessionReused) {
  for (int seq = 0; seq < 30; ++seq) {
    const RemoteOutcome out = segment(seq);
    ASSERT_TRUE(out.ok) << seq << ": " << out.error;
  }
  // 30 uploads and 30 downloads on one connection: one TCP connect and one TLS handshake seen
  // by the client, one remote port seen by the server.
  const auto c = rt->http_counters();
  EXPECT_EQ(c.requests, 60u);
  EXPECT_EQ(c.connections, 1u);
  EXPECT_EQ(c.tls_handshakes, 1u);
  EXPECT_EQ(https->connections(), 1u);
  EXPECT_EQ(https->segments(), 30);
}

TEST_F(RemoteSegment, Segment_GivenParamsExpiredWhileIdle_FreshParamsAndDoneByTheSameOrchestrator) {
  // A stream that paused past its ticket params' expiration block (a few idle minutes on
  // chain): the next segment must not fail. One orchestrator, one attempt allowed: renewing
  // expired params is not an attempt.
  ASSERT_TRUE(segment(0).ok);
  ASSERT_TRUE(ledger->advance_blocks(41));
  const RemoteOutcome out = segment(1);
  ASSERT_TRUE(out.ok) << out.error_code << ": " << out.error;
  EXPECT_EQ(out.attempts, 2);
  for (const auto& s : rt->state()) EXPECT_FALSE(s.suspended) << s.last_error;
}

TEST_F(RemoteSegment, FourInFlight_GivenOneOrchestrator_AllReachItAtOnce) {
  // lpremote-transcode keeps max-in-flight segments open at one orchestrator, each on its own
  // HTTP/1.1 connection for the whole transcode. The server answers only once all four are
  // open at the same time (libsoup's default of 2 connections per host would queue the third
  // inside the client while its deadline runs). Long segments give generous deadlines.
  https->together(4);
  std::vector<std::thread> workers;
  workers.reserve(4);
  std::vector<RemoteOutcome> outs(4);
  for (int i = 0; i < 4; ++i)
    workers.emplace_back([&, i] { outs[static_cast<std::size_t>(i)] = segment(i, 10.0); });
  for (auto& w : workers) w.join();
  for (const RemoteOutcome& out : outs) {
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.error_code, "bad_protobuf") << out.error;  // answered, not timed out
  }
  EXPECT_EQ(https->segments(), 4);
  EXPECT_EQ(https->connections(), 4u);
}

TEST_F(RemoteSegment, Stop_GivenAnOrchestratorThatStoppedAnswering_ReturnsAtOnce) {
  https->script(Answer::hang);
  std::thread worker([&] {
    const RemoteOutcome out = segment(0);
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.error_code, "cancelled");
  });
  ASSERT_TRUE(https->wait_segments(1, std::chrono::seconds(30)));
  const auto t0 = Clock::now();
  rt->cancel_all();  // what lpremote-transcode does on PAUSED->READY and on flush
  worker.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // Without the cancel the request would wait for its 8 s deadline.
  EXPECT_LT(seconds, 2.0);
  // A cancelled request is nobody's fault: the orchestrator is not suspended.
  for (const auto& s : rt->state()) EXPECT_FALSE(s.suspended) << s.last_error;
}

TEST_F(RemoteSegment,
       PipelineStop_GivenAnOrchestratorThatStoppedAnswering_ReturnsWithinTwoSeconds) {
  // The elements as a gateway runs them: segments from a clip, paid by the funded gateway key;
  // the orchestrator takes the first upload (its early 200) and never answers.
  https->script(Answer::hang);
  const std::string key_file = dir.file("gateway.key");
  std::ofstream(key_file) << to_hex(gw.secret(), false) << "\n";
  chmod(key_file.c_str(), 0600);
  GError* err = nullptr;
  gst::ObjectPtr<GstElement> p(gst_parse_launch(
      ("filesrc location=\"" + test::media("live-1080p30-h264-aac-16s-gop2.ts") +
       "\" ! tsdemux ! h264parse ! lpsegmenter ! lpticketpay key-file=" + key_file +
       " ledger=" + dir.file("ledger.db") + " ! lpremote-transcode orchestrators=" + target +
       " profiles=P240p30fps16x9 attempts=1 ! fakesink")
          .c_str(),
      &err));
  ASSERT_TRUE(p) << (err ? err->message : "");
  g_clear_error(&err);
  ASSERT_EQ(gst_element_set_state(p.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  ASSERT_TRUE(https->wait_segments(1, std::chrono::seconds(60)));  // a request is in flight
  const auto t0 = Clock::now();
  EXPECT_EQ(gst_element_set_state(p.get(), GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // Without cancelling, the stop would wait for the upload deadline (2 s) and then for the
  // streaming thread's next segment; with it, the request ends at once.
  EXPECT_LT(seconds, 2.0);
}

}  // namespace
}  // namespace lp::gw
