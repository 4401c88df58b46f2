// SPDX-License-Identifier: LGPL-2.1-or-later
// The whole gateway loop on loopback against the same work done locally, in the same run:
//  - throughput: the clip through `lpsegmenter ! lptranscode` (local) and through
//    `lpsegmenter ! lpticketpay ! lpremote-transcode ! lpverify ! lphlssink` to an in-process
//    orchestrator (remote), as fast as they go, alternated; ratio = local time / remote time;
//  - delay: the remote chain paced at real time (identity sync=true, as a live source), each
//    segment's time from its completion at the segmenter (its last frame in) to its arrival at
//    the HLS writer; median and p95.
// Usage: gateway_bench CLIP PROFILES [ROUNDS]. Prints JSON.
#include <gst/gst.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>

#include "elements/lpmeta.h"
#include "elements/net/tls.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/local_transcoder.h"
#include "node/orchestrator/orchestrator.h"
#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"
#include "plugins/livepeer/plugin.h"
#include "tests/bench/bench_util.h"

namespace {

using namespace lp;

int fail(const std::string& what) {
  std::fprintf(stderr, "gateway_bench: %s\n", what.c_str());
  return 1;
}

std::string source(const std::string& clip, bool paced) {
  const std::string sync = paced ? "identity sync=true ! " : "";
  return "filesrc location=\"" + clip + "\" ! tsdemux name=d d. ! queue ! " + sync +
         "h264parse ! seg.video d. ! queue ! " + sync +
         "aacparse ! seg.audio lpsegmenter name=seg ";
}

/// Runs a launch line to EOS; returns seconds, or a negative number on error.
double run(const std::string& desc, const std::function<void(GstElement*)>& setup = {}) {
  GError* err = nullptr;
  gst::ObjectPtr<GstElement> p(gst_parse_launch(desc.c_str(), &err));
  if (err) {
    std::fprintf(stderr, "gateway_bench: %s\n", err->message);
    g_error_free(err);
    return -1;
  }
  if (setup) setup(p.get());
  const gint64 t0 = g_get_monotonic_time();
  gst_element_set_state(p.get(), GST_STATE_PLAYING);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(p.get()));
  gst::MessagePtr m(
      gst_bus_timed_pop_filtered(bus.get(), 600 * GST_SECOND,
                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  const double seconds = static_cast<double>(g_get_monotonic_time() - t0) / 1e6;
  bool ok = m && GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_EOS;
  if (m && !ok) {
    GError* e = nullptr;
    gst_message_parse_error(m.get(), &e, nullptr);
    std::fprintf(stderr, "gateway_bench: %s\n", e ? e->message : "error");
    if (e) g_error_free(e);
  }
  gst_element_set_state(p.get(), GST_STATE_NULL);
  return ok ? seconds : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: gateway_bench CLIP PROFILES [ROUNDS]");
  gst_init(nullptr, nullptr);
  lp_plugin_register_static();
  const std::string clip = argv[1], profiles = argv[2];
  const int rounds = argc > 3 ? std::max(1, std::atoi(argv[3])) : 2;
  auto ladder = media::parse_profiles(profiles);
  if (!ladder) return fail(ladder.error().message);

  // A funded gateway and an orchestrator on a fresh local ledger, as lpnode runs them.
  auto world = funded_ledger("lpgwbench-");
  if (!world) return fail("cannot set up the local ledger");
  const auto& dir = world->dir;
  const std::string& db = world->db;
  auto& ledger = world->ledger;
  auto& queue = world->queue;
  const PrivateKey& gw = world->gw;
  const PrivateKey& orch = world->orch;
  const std::string key_file = (dir / "gateway.key").string();
  std::ofstream(key_file) << to_hex(gw.secret(), false) << "\n";
  std::filesystem::permissions(
      key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  pm::Recipient recipient(orch.address(), *ledger, *queue, pm::RecipientConfig{});
  orch::OrchestratorConfig config;
  config.price = {1, 1};
  orch::Orchestrator o(config, orch, recipient,
                       std::make_shared<orch::LocalTranscoder>(
                           orch::LocalTranscoder::Options{media::GpuMode::off, "veryfast"}),
                       [] { return static_cast<std::int64_t>(time(nullptr)); });
  auto tls = lp::net::self_signed_cert("127.0.0.1").value();
  orch::HttpServer http(o, tls);
  const std::string target = "127.0.0.1:" + std::to_string(http.start("127.0.0.1", 0).value());
  o.set_service_uri("https://" + target);

  std::string local_sinks;
  for (std::size_t i = 0; i < ladder->size(); ++i)
    local_sinks += " t.src_" + std::to_string(i) + " ! fakesink sync=false";
  const std::string local = source(clip, false) + "! lptranscode name=t profiles=\"" + profiles +
                            "\" gpu=off" + local_sinks;
  auto remote = [&](bool paced, int n) {
    return source(clip, paced) + "! lpticketpay key-file=\"" + key_file + "\" ledger=\"" + db +
           "\" ! lpremote-transcode orchestrators=" + target + " profiles=\"" + profiles +
           "\" ! lpverify name=verify ! lphlssink name=hls playlist-length=0 location=\"" +
           (dir / ("hls" + std::to_string(n))).string() + "\"";
  };
  std::vector<double> local_s, remote_s;
  for (int r = 0; r < rounds; ++r) {
    const double l = run(local);
    const double rm = run(remote(false, r));
    if (l < 0 || rm < 0) return fail("a run failed");
    std::fprintf(stderr, "round %d: local %.2f s, remote %.2f s\n", r, l, rm);
    local_s.push_back(l);
    remote_s.push_back(rm);
  }
  // Delay, paced at real time: segment complete at the segmenter -> at the HLS writer.
  std::mutex mu;
  std::map<guint64, gint64> done_at;
  std::vector<double> delays;
  const double paced = run(remote(true, 99), [&](GstElement* p) {
    gst::ObjectPtr<GstElement> seg(gst_bin_get_by_name(GST_BIN(p), "seg"));
    gst::ObjectPtr<GstElement> hls(gst_bin_get_by_name(GST_BIN(p), "hls"));
    gst::ObjectPtr<GstPad> out(gst_element_get_static_pad(seg.get(), "src"));
    gst::ObjectPtr<GstPad> in(gst_element_get_static_pad(hls.get(), "sink"));
    gst_pad_add_probe(
        out.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          auto* ctx = static_cast<std::pair<std::mutex*, std::map<guint64, gint64>*>*>(d);
          if (const LpSegmentMeta* m =
                  lp_buffer_get_segment_meta(GST_PAD_PROBE_INFO_BUFFER(info))) {
            std::lock_guard lock(*ctx->first);
            (*ctx->second)[m->seq] = g_get_monotonic_time();
          }
          return GST_PAD_PROBE_OK;
        },
        new std::pair<std::mutex*, std::map<guint64, gint64>*>(&mu, &done_at),
        [](gpointer d) {
          delete static_cast<std::pair<std::mutex*, std::map<guint64, gint64>*>*>(d);
        });
    struct Ctx {
      std::mutex* mu;
      std::map<guint64, gint64>* done_at;
      std::vector<double>* delays;
    };
    gst_pad_add_probe(
        in.get(), GST_PAD_PROBE_TYPE_BUFFER_LIST,
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          auto* ctx = static_cast<Ctx*>(d);
          GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
          if (gst_buffer_list_length(list) == 0) return GST_PAD_PROBE_OK;
          if (const LpSegmentMeta* m = lp_buffer_get_segment_meta(gst_buffer_list_get(list, 0))) {
            std::lock_guard lock(*ctx->mu);
            auto it = ctx->done_at->find(m->seq);
            if (it != ctx->done_at->end())
              ctx->delays->push_back(static_cast<double>(g_get_monotonic_time() - it->second) /
                                     1000.0);
          }
          return GST_PAD_PROBE_OK;
        },
        new Ctx{&mu, &done_at, &delays}, [](gpointer d) { delete static_cast<Ctx*>(d); });
  });
  http.stop();
  std::filesystem::remove_all(dir);
  if (paced < 0) return fail("the paced run failed");
  const double l = median(local_s), rm = median(remote_s);
  std::printf(
      "{\"rounds\": %d, \"local_s\": %.2f, \"remote_s\": %.2f, \"throughput_ratio\": %.3f, "
      "\"segments\": %zu, "
      "\"delay_median_ms\": %.0f, \"delay_p95_ms\": %.0f, \"paced_run_s\": %.2f}\n",
      rounds, l, rm, rm > 0 ? l / rm : 0.0, delays.size(), median(delays), percentile(delays, 95),
      paced);
  return 0;
}
