// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway elements in one pipeline against real orchestrators on loopback:
//   filesrc ! tsdemux ! h264parse ! lpsegmenter ! lpticketpay ! lpremote-transcode ! lphlssink
// with two in-process orchestrators (the real gRPC and HTTPS servers, real transcoding), the
// gateway's wallet on the same SQLite local ledger, HLS written to disk and judged by ffprobe,
// and the books of both sides compared.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <regex>
#include <sstream>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/verifier.h"
#include "elements/net/tls.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/orchestrator.h"
#include "tests/element/altered_store.h"
#include "tests/element/fake_transcoder.h"
#include "tests/element/media_util.h"
#include "tests/unit/payment_world.h"

namespace lp::gw {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// An orchestrator with its own key and recipient on the shared ledger, serving on loopback:
/// the real servers and, unless a test gives another, the real local transcoder and store.
struct LiveOrchestrator {
  LiveOrchestrator(ledger::LocalLedger& ledger, pm::TicketQueue& queue, pm::PriceInfo price,
                   std::shared_ptr<orch::Transcoder> transcoder = test::cpu_transcoder(),
                   std::shared_ptr<orch::RenditionStore> store = nullptr) {
    EXPECT_TRUE(ledger.register_orchestrator(key.address(), "https://127.0.0.1:8935"));
    pm::RecipientConfig rc;
    rc.ticket_ev = 1'000'000'000'000;  // 1e12 wei, go-livepeer's default
    recipient = std::make_unique<pm::Recipient>(key.address(), ledger, queue, rc);
    orch::OrchestratorConfig config;
    config.price = price;
    o = std::make_unique<orch::Orchestrator>(
        config, key, *recipient, std::move(transcoder),
        [] { return static_cast<std::int64_t>(time(nullptr)); }, std::move(store));
    auto tls = net::self_signed_cert("127.0.0.1").value();
    http = std::make_unique<orch::HttpServer>(*o, tls);
    const int http_port = http->start("127.0.0.1", 0).value();
    o->set_service_uri("https://127.0.0.1:" + std::to_string(http_port));
    target = "127.0.0.1:" + std::to_string(http_port);  // gRPC and HTTPS share the port
  }
  ~LiveOrchestrator() { http->stop(); }
  PrivateKey key = PrivateKey::generate();
  std::unique_ptr<pm::Recipient> recipient;
  std::unique_ptr<orch::Orchestrator> o;
  std::unique_ptr<orch::HttpServer> http;
  std::string target;
};

class GatewayLoop : public test::PaymentWorld {
 protected:
  // The clip is read from a file as fast as it goes, so segments arrive faster than real time
  // and queue at the orchestrator (one at a time per session) while go-livepeer's deadlines
  // (8 s for a 2 s segment) run; under a sanitizer with other processes on both cores the last
  // in the queue could miss them. What these tests check is not timing: the deadlines are
  // widened (the timeouts have their own tests, tests/element/remote_segment_test.cpp).
  static constexpr const char* kTimeoutMultiplier = "5";

  void SetUp() override {
    PaymentWorld::SetUp();
    key_file = dir.file("gateway.key");
    std::ofstream(key_file) << to_hex(gw.secret(), false) << "\n";
    chmod(key_file.c_str(), 0600);
  }

  /// Runs the gop2 clip through the gateway pipeline; returns the error text, empty on success.
  std::string run(const std::string& orchestrators, const std::string& hls,
                  const std::string& verify = "") {
    const std::string desc =
        "filesrc location=\"" + test::media("live-1080p30-h264-aac-16s-gop2.ts") +
        "\" ! tsdemux name=d d. ! queue ! h264parse ! seg.video d. ! queue ! aacparse ! seg.audio "
        "lpsegmenter name=seg stream-id=looptest ! lpticketpay name=pay key-file=\"" +
        key_file + "\" ledger=\"" + dir.file("ledger.db") +
        "\" ! lpremote-transcode name=rt orchestrators=" + orchestrators +
        " profiles=P240p30fps16x9,P360p30fps16x9 suspend-seconds=600 timeout-multiplier=" +
        kTimeoutMultiplier + " ! " + (verify.empty() ? "" : verify + " ! ") +
        "lphlssink location=\"" + hls + "\" playlist-length=0";
    GError* err = nullptr;
    gst::ObjectPtr<GstElement> p(gst_parse_launch(desc.c_str(), &err));
    if (err) {
      std::string m = err->message;
      g_error_free(err);
      return m;
    }
    gst_element_set_state(p.get(), GST_STATE_PLAYING);
    gst::ObjectPtr<GstBus> bus(gst_element_get_bus(p.get()));
    std::string error;
    for (;;) {
      gst::MessagePtr m(gst_bus_timed_pop_filtered(
          bus.get(), 300 * GST_SECOND,
          static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING)));
      if (!m) {
        error = "timed out";
        break;
      }
      if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_WARNING) {
        GError* w = nullptr;
        gst_message_parse_warning(m.get(), &w, nullptr);
        warnings.push_back(w->message);
        g_error_free(w);
        continue;
      }
      if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_ERROR) {
        GError* e = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_error(m.get(), &e, &dbg);
        error = std::string(e->message) + (dbg ? std::string(" (") + dbg + ")" : "");
        g_error_free(e);
        g_free(dbg);
      }
      break;
    }
    gst::ObjectPtr<GstElement> pay(gst_bin_get_by_name(GST_BIN(p.get()), "pay"));
    gchar* ev = nullptr;
    gchar* balance = nullptr;
    g_object_get(pay.get(), "ev-sent", &ev, "balance", &balance, "tickets-sent", &tickets_sent,
                 nullptr);
    ev_sent = ev ? ev : "";
    gateway_balance = balance ? balance : "";
    g_free(ev);
    g_free(balance);
    if (gst::ObjectPtr<GstElement> v(gst_bin_get_by_name(GST_BIN(p.get()), "verify")); v)
      g_object_get(v.get(), "verified", &verified, "failed", &verify_failed, nullptr);
    gst_element_set_state(p.get(), GST_STATE_NULL);
    return error;
  }

  /// The seqs a media playlist lists, in order; checks its ending.
  static std::vector<int> playlist_seqs(const std::string& path, bool* ended) {
    const std::string text = read_file(path);
    *ended = text.find("#EXT-X-ENDLIST") != std::string::npos;
    std::vector<int> out;
    std::regex line("^(\\d+)\\.ts$");
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (std::regex_match(l, m, line)) out.push_back(std::stoi(m[1]));
    }
    return out;
  }

  std::string key_file;
  std::vector<std::string> warnings;
  std::string ev_sent, gateway_balance;
  guint64 tickets_sent = 0;
  guint64 verified = 0, verify_failed = 0;
};

TEST_F(GatewayLoop, Gop2Clip_GivenTwoOrchestrators_HlsForEveryRenditionAndBooksBalance) {
  LiveOrchestrator o1(*ledger, *queue, {1000, 1}), o2(*ledger, *queue, {1500, 1});
  const std::string hls = dir.file("hls");
  ASSERT_EQ(run(o1.target + "," + o2.target, hls, "lpverify name=verify sample=1"), "");
  EXPECT_TRUE(warnings.empty()) << warnings.front();

  // HLS: a multivariant playlist naming the source and both renditions; each media playlist
  // lists every segment, in order, ended.
  const std::string master = read_file(hls + "/index.m3u8");
  for (const char* r : {"source", "P240p30fps16x9", "P360p30fps16x9"})
    EXPECT_NE(master.find(std::string(r) + "/index.m3u8"), std::string::npos) << master;
  EXPECT_NE(master.find("RESOLUTION=426x240"), std::string::npos) << master;
  std::vector<int> source_seqs;
  for (const char* r : {"source", "P240p30fps16x9", "P360p30fps16x9"}) {
    SCOPED_TRACE(r);
    bool ended = false;
    std::vector<int> seqs = playlist_seqs(hls + "/" + r + "/index.m3u8", &ended);
    EXPECT_TRUE(ended);
    ASSERT_GE(seqs.size(), 8u);
    for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int>(i));
    if (source_seqs.empty()) source_seqs = seqs;
    EXPECT_EQ(seqs, source_seqs);
  }
  // ffprobe judges each rendition segment: H.264 at the rung's size, as many frames as the source.
  for (int seq : source_seqs) {
    const std::string src = hls + "/source/" + std::to_string(seq) + ".ts";
    const int src_frames = test::count_frames(src, "v:0");
    for (auto [r, size] :
         {std::pair{"P240p30fps16x9", "426,240"}, std::pair{"P360p30fps16x9", "640,360"}}) {
      const std::string f = hls + "/" + r + "/" + std::to_string(seq) + ".ts";
      SCOPED_TRACE(f);
      const std::string info = test::ffprobe(
          "-select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 \"" + f +
          "\"");
      EXPECT_EQ(info.substr(0, info.find('\n')), std::string("h264,") + size);
      EXPECT_EQ(test::count_frames(f, "v:0"), src_frames);
    }
  }
  // Both orchestrators worked (the load is spread), and the books agree: the EV the gateway
  // sent is what the orchestrators credited; what is left with them is that minus their fees.
  const orch::OrchestratorStats s1 = o1.o->stats(), s2 = o2.o->stats();
  EXPECT_GT(s1.segments_transcoded, 0u);
  EXPECT_GT(s2.segments_transcoded, 0u);
  EXPECT_EQ(s1.segments_transcoded + s2.segments_transcoded, source_seqs.size());
  EXPECT_EQ(verified, source_seqs.size());  // every segment, pictures compared on each
  EXPECT_EQ(verify_failed, 0u);
  EXPECT_GT(tickets_sent, 0u);
  EXPECT_GT(s1.ticket_value_recv, 0);
  EXPECT_EQ(tickets_sent, s1.tickets_recv + s2.tickets_recv);
  EXPECT_EQ(ev_sent, to_string(s1.ticket_value_recv + s2.ticket_value_recv));
  const Rational fees = Rational(s1.pixels) * 1000 + Rational(s2.pixels) * 1500;
  EXPECT_EQ(gateway_balance, to_string(s1.ticket_value_recv + s2.ticket_value_recv - fees));
}

/// How an orchestrator cheats (test code only: the real server with a cheating transcoder, or
/// a store that serves other bytes than were signed).
enum class Cheat {
  black_pictures,
  wrong_resolution,
  too_few_frames,
  overclaimed_pixels,
  bad_signature
};

class GatewayCheat : public GatewayLoop, public ::testing::WithParamInterface<Cheat> {};

TEST_P(GatewayCheat, Gop2Clip_GivenACheatingOrchestrator_CaughtSuspendedAndRedoneByTheHonestOne) {
  const Cheat cheat = GetParam();
  std::atomic<std::int64_t> cheater_last_seq{-1};
  // The first rendition's pictures are faked, each claiming exactly what it holds, or its
  // claim is raised by one frame; or the second rendition's bytes change after signing.
  auto transcoder = std::make_shared<test::FakeTranscoder>(test::FakeTranscoder::cheat(
      [cheat, &cheater_last_seq](const orch::SegmentIn& in, std::vector<orch::RenditionOut>& out) {
        cheater_last_seq = std::max<std::int64_t>(cheater_last_seq, in.seq);
        const MediaProbe m = probe_segment(out[0].bytes);
        if (cheat == Cheat::black_pictures)
          out[0].bytes = test::pattern_segment("black", m.width, m.height, m.frames);
        if (cheat == Cheat::wrong_resolution)
          out[0].bytes = test::pattern_segment("ball", 320, 180, m.frames);
        if (cheat == Cheat::too_few_frames)
          out[0].bytes = test::pattern_segment("ball", m.width, m.height, m.frames / 2);
        if (cheat == Cheat::bad_signature) return;
        const MediaProbe t = probe_segment(out[0].bytes);
        out[0].pixels = static_cast<std::uint64_t>(t.frames) * static_cast<std::uint64_t>(t.width) *
                        static_cast<std::uint64_t>(t.height);
        if (cheat == Cheat::overclaimed_pixels)
          out[0].pixels +=
              static_cast<std::uint64_t>(t.width) * static_cast<std::uint64_t>(t.height);
      }));
  std::shared_ptr<orch::RenditionStore> store;
  if (cheat == Cheat::bad_signature)
    store = std::make_shared<test::AlteredStore>(
        [](const std::string& profile, std::int64_t) { return profile == "P360p30fps16x9"; });
  // The cheater is the cheaper one, so it gets segments first.
  LiveOrchestrator cheater(*ledger, *queue, {1000, 1}, transcoder, store),
      honest(*ledger, *queue, {1500, 1});
  const std::string hls = dir.file("hls");
  ASSERT_EQ(run(cheater.target + "," + honest.target, hls, "lpverify name=verify sample=1"), "");
  // Caught: every result of the cheater failed verification, warnings name it, and once
  // suspended it got no more segments (it did not do the last one).
  EXPECT_GE(verify_failed, 1u);
  EXPECT_EQ(cheater.o->stats().segments_transcoded, verify_failed);
  bool warned = false;
  for (const auto& w : warnings) warned |= w.find("failed verification") != std::string::npos;
  EXPECT_TRUE(warned);
  // Nothing of its work is published: every segment in order, each rendition the source's
  // frames at the rung's size and pictures like the source's.
  bool ended = false;
  const std::vector<int> seqs = playlist_seqs(hls + "/P240p30fps16x9/index.m3u8", &ended);
  EXPECT_TRUE(ended);
  ASSERT_GE(seqs.size(), 8u);
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int>(i));
  EXPECT_EQ(verified, seqs.size());
  EXPECT_LT(cheater_last_seq, seqs.back());
  for (int seq : seqs) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    const std::string src = read_file(hls + "/source/" + std::to_string(seq) + ".ts");
    for (const char* r : {"P240p30fps16x9", "P360p30fps16x9"}) {
      const std::string rendition = read_file(hls + "/" + r + "/" + std::to_string(seq) + ".ts");
      const MediaProbe m = probe_segment(rendition);
      EXPECT_EQ(m.frames, probe_segment(src).frames);
      EXPECT_GT(luma_psnr(probe_segment(src, m.width, m.height),
                          probe_segment(rendition, m.width, m.height)),
                25.0);
    }
  }
  EXPECT_EQ(honest.o->stats().segments_transcoded + cheater.o->stats().segments_transcoded,
            seqs.size() + verify_failed);
  // The books still add up: the cheater was paid for what it returned (the gateway cannot
  // take tickets back), and what is left with each is credit minus its claimed fees.
  const orch::OrchestratorStats c = cheater.o->stats(), h = honest.o->stats();
  EXPECT_EQ(ev_sent, to_string(c.ticket_value_recv + h.ticket_value_recv));
  EXPECT_EQ(gateway_balance, to_string(c.ticket_value_recv + h.ticket_value_recv -
                                       Rational(c.pixels) * 1000 - Rational(h.pixels) * 1500));
}

INSTANTIATE_TEST_SUITE_P(Cheats, GatewayCheat,
                         ::testing::Values(Cheat::black_pictures, Cheat::wrong_resolution,
                                           Cheat::too_few_frames, Cheat::overclaimed_pixels,
                                           Cheat::bad_signature),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case Cheat::black_pictures:
                               return "BlackPictures";
                             case Cheat::wrong_resolution:
                               return "WrongResolution";
                             case Cheat::too_few_frames:
                               return "TooFewFrames";
                             case Cheat::overclaimed_pixels:
                               return "OverclaimedPixels";
                             default:
                               return "BadSignature";
                           }
                         });

TEST_F(GatewayLoop, Gop2Clip_GivenADeadOrchestratorFirst_TheLiveOneDoesEverySegment) {
  LiveOrchestrator live(*ledger, *queue, {1000, 1});
  const std::string hls = dir.file("hls");
  ASSERT_EQ(run("127.0.0.1:1," + live.target, hls), "");
  bool ended = false;
  const std::vector<int> seqs = playlist_seqs(hls + "/P360p30fps16x9/index.m3u8", &ended);
  EXPECT_TRUE(ended);
  EXPECT_GE(seqs.size(), 8u);
  EXPECT_EQ(live.o->stats().segments_transcoded, seqs.size());
}

TEST_F(GatewayLoop, Gop2Clip_GivenALoneOrchestratorFailingOnce_ItStillDoesTheSegmentsAfter) {
  // One bad result (seq 2's bytes no longer match its signature) suspends the only
  // orchestrator; it still fills the gap for the next segments, as go-livepeer's suspended
  // orchestrators do. Segment 2 itself is not given back to it: it is skipped.
  LiveOrchestrator lone(
      *ledger, *queue, {1000, 1}, test::cpu_transcoder(),
      std::make_shared<test::AlteredStore>([](const std::string& profile, std::int64_t seq) {
        return seq == 2 && profile == "P360p30fps16x9";
      }));
  const std::string hls = dir.file("hls");
  ASSERT_EQ(run(lone.target, hls, "lpverify name=verify sample=1"), "");
  bool ended = false;
  const std::vector<int> seqs = playlist_seqs(hls + "/P240p30fps16x9/index.m3u8", &ended);
  EXPECT_TRUE(ended);
  EXPECT_EQ(verify_failed, 1u);
  ASSERT_GE(seqs.size(), 7u);
  EXPECT_EQ(std::count(seqs.begin(), seqs.end(), 2), 0);
  for (std::size_t i = 0; i < seqs.size(); ++i)
    EXPECT_EQ(seqs[i], static_cast<int>(i < 2 ? i : i + 1));
  EXPECT_EQ(lone.o->stats().segments_transcoded, seqs.size() + 1);
}

TEST_F(GatewayLoop, Start_GivenNoOrchestratorAnswering_OneClearError) {
  const std::string error = run("127.0.0.1:1", dir.file("hls"));
  EXPECT_NE(error.find("no orchestrator answered"), std::string::npos) << error;
}

}  // namespace
}  // namespace lp::gw
