// SPDX-License-Identifier: LGPL-2.1-or-later
// The protocol and payment overhead of remote transcoding on loopback: for each segment of the
// gop2 clip, the time from a gateway's submit (ticket batch, SegData signature, HTTPS POST) to
// its last rendition downloaded, against the same transcode done locally (a warm engine, the
// same ladder) in the same run, interleaved; and the overhead measured directly, as the round
// trip minus the orchestrator's own transcode time of the same segment. Each segment is sent
// twice, interleaved: to the one service port (gRPC and HTTPS together; libsoup's client speaks
// HTTP/2 there, as ALPN offers it) and to a separate HTTP/1.1-only HTTPS port, the layout before
// the one port; the ratio of their direct overheads is the price of the one port.
// Prints JSON with medians.
// Usage: orchestrator_bench CLIP LADDER [SPEED_PRESET] [ROUNDS]
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>

#include "elements/gateway/remote_transcoder.h"
#include "elements/net/client.h"
#include "elements/net/segment_client.h"
#include "elements/net/tls.h"
#include "elements/net/wire.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/local_transcoder.h"
#include "node/orchestrator/orchestrator.h"
#include "payment/ledger/local_ledger.h"
#include "payment/pm/sender.h"
#include "payment/pm/ticket_queue.h"
#include "plugins/livepeer/plugin.h"
#include "tests/bench/bench_util.h"

namespace {

using namespace lp;

int fail(const std::string& what) {
  std::fprintf(stderr, "orchestrator_bench: %s\n", what.c_str());
  return 1;
}

int run(int argc, char** argv) {
  if (argc < 3) return fail("usage: orchestrator_bench CLIP LADDER [SPEED_PRESET] [ROUNDS]");
  gst_init(nullptr, nullptr);
  lp_plugin_register_static();
  const std::string preset = argc > 3 ? argv[3] : "veryfast";
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 1;
  auto ladder = media::parse_profiles(argv[2]);
  if (!ladder) return fail(ladder.error().message);
  const std::vector<::net::VideoProfile> profiles = gw::to_wire_profiles(*ladder);
  const auto segments = segment_clip(argv[1]);

  // A funded gateway and a priced orchestrator on a fresh local ledger.
  auto world = funded_ledger("lpbench-");
  if (!world) return fail("cannot set up the local ledger");
  const auto& dir = world->dir;
  auto& ledger = world->ledger;
  auto& queue = world->queue;
  const PrivateKey& gw = world->gw;
  const PrivateKey& orch = world->orch;
  pm::Recipient recipient(orch.address(), *ledger, *queue, pm::RecipientConfig{});
  pm::Sender sender(gw, *ledger, pm::SenderConfig{});
  orch::OrchestratorConfig config;
  config.price = {1, 1000};  // a millionth of a gwei per pixel
  orch::Orchestrator o(config, orch, recipient,
                       std::make_shared<orch::LocalTranscoder>(
                           orch::LocalTranscoder::Options{media::GpuMode::off, preset}),
                       [] { return static_cast<std::int64_t>(time(nullptr)); });
  auto tls = lp::net::self_signed_cert("127.0.0.1").value();
  orch::HttpServer http(o, tls);
  const int http_port = http.start("127.0.0.1", 0).value();
  const std::string one_port = "https://127.0.0.1:" + std::to_string(http_port);
  o.set_service_uri(one_port);
  orch::HttpServer old_https(o, tls, {.http2 = false, .front = {}});
  const std::string two_ports =
      "https://127.0.0.1:" + std::to_string(old_https.start("127.0.0.1", 0).value());
  lp::net::OrchestratorClient client("127.0.0.1:" + std::to_string(http_port));
  lp::net::SegmentClient http_client;

  // overhead: round trip - the local transcode (two separate x264 runs, noisy);
  // direct: round trip - the orchestrator's own transcode of that very segment.
  std::vector<double> local, remote, overhead, server, direct, direct_old;
  std::int64_t seq = 0;
  for (int r = 0; r < rounds; ++r) {
    ::net::OrchestratorRequest req;
    req.set_address(std::string(reinterpret_cast<const char*>(gw.address().data()), 20));
    const Signature sig = sign_message(gw, as_bytes(to_checksum(gw.address())));
    req.set_sig(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
    auto info = client.get_orchestrator(req);
    if (!info) return fail(info.error().message);
    const std::string pm_session =
        sender.start_session(lp::net::from_proto(info->ticket_params()).value(),
                             lp::net::from_proto(info->price_info()));
    media::TranscodeEngine engine({*ladder, media::GpuMode::off, preset});
    for (std::size_t i = 0; i < segments.size(); ++i) {
      // Local: the same transcode in this process.
      gst::BufferPtr buf(gst_buffer_new_memdup(segments[i].data(), segments[i].size()));
      std::vector<media::Rendition> out;
      std::string error;
      const gint64 t0 = g_get_monotonic_time();
      if (!engine.transcode(buf.get(), &out, &error)) return fail(error);
      const double t_local = ms_since(t0);
      // Remote: pay, sign, submit, download every rendition; on either layout.
      double t_remote[2] = {0, 0}, t_server[2] = {0, 0};
      for (int k = 0; k < 2; ++k, ++seq) {
        const int layout = (k + static_cast<int>(i)) % 2;  // which goes first alternates
        const std::string& base = layout == 0 ? one_port : two_ports;
        const gint64 t1 = g_get_monotonic_time();
        auto batch = sender.create_ticket_batch(pm_session, 1);
        if (!batch) return fail(batch.error().message);
        const ::net::SegData s = lp::net::signed_segdata(gw, "bench", seq, segments[i], profiles,
                                                         info->auth_token(), 2000);
        auto result =
            http_client.submit(base, lp::net::encode_header(lp::net::to_proto(*batch)),
                               lp::net::encode_header(s), segments[i], std::chrono::seconds(60));
        if (!result || !result->has_data())
          return fail(result ? result->error() : result.error().message);
        const double t_submit = ms_since(t1);
        for (const auto& d : result->data().segments()) {
          // The renditions from the port the segment went to.
          const std::string url = base + d.url().substr(one_port.size());
          if (auto ts = http_client.fetch(url, std::chrono::seconds(10)); !ts)
            return fail(ts.error().message);
        }
        t_remote[layout] = ms_since(t1);
        t_server[layout] = o.stats().last_transcode_seconds * 1000.0;
        if (getenv("LP_BENCH_VERBOSE"))
          std::fprintf(stderr,
                       "seq %lld (%s): local %.1f ms, submit %.1f ms (server transcode %.1f ms), "
                       "downloads %.1f ms\n",
                       static_cast<long long>(seq), layout == 0 ? "one port" : "two ports", t_local,
                       t_submit, t_server[layout], t_remote[layout] - t_submit);
      }
      if (i > 0) {  // the first segment of a session builds both pipelines
        local.push_back(t_local);
        remote.push_back(t_remote[0]);
        overhead.push_back(t_remote[0] - t_local);
        server.push_back(t_server[0]);
        direct.push_back(t_remote[0] - t_server[0]);
        direct_old.push_back(t_remote[1] - t_server[1]);
      }
    }
  }
  http.stop();
  old_https.stop();
  std::filesystem::remove_all(dir);
  const double l = median(local), rm = median(remote), ov = median(overhead), sv = median(server),
               dv = median(direct), dv_old = median(direct_old);
  std::printf(
      "{\"segments\": %zu, \"local_ms\": %.1f, \"remote_ms\": %.1f, \"overhead_ms\": %.1f, "
      "\"overhead_pct\": %.2f, "
      "\"server_transcode_ms\": %.1f, \"direct_overhead_ms\": %.1f, \"direct_overhead_pct\": "
      "%.2f, \"two_ports_direct_overhead_ms\": %.1f, \"one_port_ratio\": %.3f}\n",
      local.size(), l, rm, ov, l > 0 ? 100.0 * ov / l : 0.0, sv, dv, sv > 0 ? 100.0 * dv / sv : 0.0,
      dv_old, dv_old > 0 ? dv / dv_old : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
