// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode orchestrator`: the orchestrator service: gRPC (GetOrchestrator, Ping,
// EndTranscodingSession) and HTTPS (/segment, /stream) on loopback or any address, payment
// through the local ledger, winners queued and redeemed.
#include <gst/gst.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>
#include <utility>

#include "elements/net/tls.h"
#include "node/lpnode/admin.h"
#include "node/lpnode/cli_util.h"
#include "node/lpnode/pipeline_profile.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/local_transcoder.h"
#include "node/orchestrator/orchestrator.h"
#include "payment/ledger/local_ledger.h"
#include "payment/ledger/settlement.h"
#include "payment/pm/ticket_queue.h"
#include "plugins/livepeer/plugin.h"

namespace lp::node {

namespace {

/// How long a stop waits for the segments in flight (with the HTTP/2 linger after it, the
/// process ends within 5 s of the signal).
constexpr int kStopGraceSeconds = 2;

const char* kOrchestratorHelp = R"(Usage: lpnode orchestrator --key-file FILE --ledger FILE [flags]

Runs a Livepeer orchestrator on one TLS port, --service-addr, as go-livepeer does: gRPC
(GetOrchestrator, Ping, EndTranscodingSession over HTTP/2) and HTTPS (HTTP/2 or HTTP/1.1, as the
client's ALPN offers) share it. It takes segments with Livepeer's payment headers on
POST /segment, checks the payment before any work, transcodes with lptranscode (one warm pipeline per session; NVIDIA
where registered, the CPU otherwise), signs the results, serves the renditions at
/stream/<session>/<profile>/<seq>.ts, and queues winning tickets, which are redeemed on the
local ledger once their params expire. It registers itself in the ledger's orchestrator
registry. A self-signed certificate is made at every start, as go-livepeer does.

It also runs the local ledger's block clock (--block-time; every node on one ledger shares one
clock) and serves, on --admin-addr (plain HTTP, keep it on localhost as go-livepeer's CLI port):
  /metrics   Prometheus text: segments, transcode time, tickets, winners, value redeemed, ...
  /healthz   200 "ok" while it runs; 503 with a line per problem (the ledger file gone)
  /status    JSON: address, price, sessions, credit per gateway, winner queue, ledger block

SIGINT or SIGTERM stops it within 5 s: no new requests, segments in flight get 2 s to finish and
be answered (those cut make the exit status 1; gateways retry them elsewhere), winning tickets
stay queued in the ledger file and are redeemed by the next start. A second signal ends it at
once.

Flags:
  --key-file FILE        the orchestrator's key: raw hex or keystore v3 (env LP_KEY_FILE;
                         LP_PASSPHRASE or --passphrase-file for a keystore)
  --ledger FILE          the local ledger database (env LP_LEDGER)
  --service-addr H:P     the service port: gRPC and HTTPS (default 127.0.0.1:8935)
  --http-addr H:P        also serve HTTPS (segments, renditions) on a second port, and tell
                         gateways to send segments there (the layout before the one port)
  --service-uri URI      what gateways are told to use for segments and session refreshes
                         (OrchestratorInfo.transcoder; default https://<service-addr>, or
                         https://<http-addr> with that flag)
  --price-per-unit WEI   price in wei per --pixels-per-unit pixels (default 0: free)
  --pixels-per-unit N    (default 1)
  --ticket-ev WEI        expected value of each ticket asked for (default 1000000000000)
  --max-face-value WEI   cap on a ticket's face value (default 0: the sender's max float);
                         lower means more, smaller winning tickets (go-livepeer -maxFaceValue)
  --max-sessions N       concurrent sessions before OrchestratorCapped (default 10)
  --gpu auto|on|off      NVIDIA use for transcoding (default auto)
  --speed-preset P       x264 speed preset on the CPU (default veryfast)
  --pipeline NAME|FILE   an orchestrator profile from pipelines/ (orchestrator-cpu,
                         orchestrator-nvcodec) or a file: its lptranscode's gpu and speed-preset
                         (checked element by element; --gpu and --speed-preset win)
  --allow-private-uris   a gateway with object storage sends segments as URLs
                         (application/vnd+livepeer.uri), which this node downloads (http or
                         https with verified certificates, at most 8 s, paid for first); URLs
                         that reach loopback, private or link-local addresses are refused
                         (400 BadRequest) unless this flag is given: a test bed or a store on
                         the operator's own network
  --max-segment-bytes N  the largest segment body taken (default 67108864, 64 MiB: a 4K segment
                         of several seconds; go-livepeer takes up to 300000000, its MaxSegSize).
                         A bigger Content-Length is refused 413 before the body is read
  --max-connections N    open connections on the service port (default 4096), and
  --max-connections-per-ip N  from one address (default 1024); beyond: closed at once
  --admin-addr H:P       /metrics, /healthz, /status (default 127.0.0.1:7935; none: off)
  --block-time SECONDS   the local ledger's block time (default 1; 0: leave the clock alone,
                         for `lpnode ledger advance` by hand)
  --config FILE          flags from a file, one `name value` per line (env LP_CONFIG)

A public port holds: a request is judged from its headers before its body is read (size,
payment and segment headers), an HTTP/1.1 header block must arrive within 10 s and be at most
32 KiB (431), a kept-alive connection idle 60 s is closed, and a client's close is seen at once.

Example (the local ledger funded by `lpnode ledger fund` for the gateway):
  lpnode pm keygen --key-file o.key
  lpnode orchestrator --key-file o.key --ledger demo.db --price-per-unit 1 --pixels-per-unit 1
)";

std::atomic<int> g_stop{0};

/// Winners redeemed since start, for /metrics.
struct QueueTotals {
  std::mutex mu;
  std::uint64_t redeemed = 0, errors = 0;
  double value = 0;  // wei
};

void redeem(pm::TicketQueue& queue, QueueTotals& totals) {
  auto run = queue.process();
  if (!run) {
    std::fprintf(stderr, "lpnode orchestrator: redeeming: %s\n", run.error().message.c_str());
    return;
  }
  std::lock_guard lock(totals.mu);
  totals.redeemed += run->redeemed;
  totals.errors += run->dropped + run->retried;
  totals.value += run->value_redeemed.convert_to<double>();
  if (run->redeemed)
    std::fprintf(stderr, "lpnode orchestrator: redeemed %zu winning tickets for %s wei\n",
                 run->redeemed, to_dec(run->value_redeemed).c_str());
}

std::map<std::string, std::size_t> queue_states(pm::TicketQueue& queue) {
  std::map<std::string, std::size_t> states;
  if (auto all = queue.list())
    for (const auto& q : *all) ++states[q.state];
  return states;
}

HttpReply metrics_reply(orch::Orchestrator& o, pm::TicketQueue& queue, QueueTotals& redeemed,
                        std::int64_t price, std::int64_t pixels) {
  const orch::OrchestratorStats s = o.stats();
  PromText m;
  m.counter("livepeer_segment_transcoded_total", "Segments transcoded and answered",
            static_cast<double>(s.segments_transcoded));
  m.counter("livepeer_segment_transcode_failed_total", "Segments whose transcode failed",
            static_cast<double>(s.transcode_failed));
  m.counter("livepeer_segment_refused_total",
            "POST /segment requests answered with an error status",
            static_cast<double>(s.segments_refused));
  m.counter("livepeer_transcode_time_seconds_total", "Time spent transcoding segments",
            s.transcode_seconds);
  m.gauge("livepeer_transcode_time_seconds", "The last segment's transcode time",
          s.last_transcode_seconds);
  m.counter("livepeer_mil_pixels_processed", "Encoded pixels billed, millions",
            static_cast<double>(s.pixels) / 1e6);
  m.gauge("livepeer_current_sessions_total", "Transcoding sessions open",
          static_cast<double>(o.sessions()));
  m.counter("livepeer_tickets_recv", "Valid tickets received", static_cast<double>(s.tickets_recv));
  m.counter("livepeer_ticket_value_recv", "Expected value of the tickets received, wei",
            s.ticket_value_recv.convert_to<double>());
  m.counter("livepeer_winning_tickets_recv", "Winning tickets received",
            static_cast<double>(s.winning_tickets_recv));
  m.counter("livepeer_payment_recv_errors", "Payments with a refused ticket",
            static_cast<double>(s.payment_recv_errors));
  {
    std::lock_guard lock(redeemed.mu);
    m.counter("livepeer_value_redeemed", "Face value of the winning tickets redeemed, wei",
              redeemed.value);
    m.counter("livepeer_tickets_redeemed", "Winning tickets redeemed",
              static_cast<double>(redeemed.redeemed));
    m.counter("livepeer_ticket_redemption_errors", "Failed redemption attempts",
              static_cast<double>(redeemed.errors));
  }
  for (const auto& [state, n] : queue_states(queue))
    m.gauge("livepeer_winning_tickets_queued", "Winning tickets in the redemption queue by state",
            static_cast<double>(n), {{"state", state}});
  m.gauge("livepeer_transcoding_price", "Price in wei per pixel",
          static_cast<double>(price) / static_cast<double>(pixels));
  return {200, "text/plain; version=0.0.4; charset=utf-8", m.str()};
}

HttpReply status_reply(orch::Orchestrator& o, ledger::LocalLedger& ledger, pm::TicketQueue& queue,
                       QueueTotals& redeemed, const std::string& service_addr) {
  const orch::OrchestratorStats s = o.stats();
  nlohmann::json j;
  j["address"] = to_checksum(o.address());
  j["service"] = service_addr;
  j["segments_uri"] = o.service_uri();
  j["sessions"] = o.sessions();
  j["segments_transcoded"] = s.segments_transcoded;
  j["segments_refused"] = s.segments_refused;
  j["transcode_failed"] = s.transcode_failed;
  j["pixels"] = s.pixels;
  j["tickets_recv"] = s.tickets_recv;
  j["winning_tickets_recv"] = s.winning_tickets_recv;
  j["ev_recv"] = to_string(s.ticket_value_recv);
  nlohmann::json gateways = nlohmann::json::array();
  for (const auto& [sender, credit] : o.credit_by_sender())
    gateways.push_back({{"address", to_checksum(sender)}, {"credit", to_string(credit)}});
  j["gateways"] = gateways;
  j["queue"] = queue_states(queue);
  {
    std::lock_guard lock(redeemed.mu);
    j["redeemed"] = redeemed.redeemed;
  }
  if (auto st = ledger.status()) j["ledger"] = {{"block", st->block}, {"round", st->round}};
  return {200, "application/json", j.dump()};
}

}  // namespace

int orchestrator_main(const std::vector<std::string>& argv) {
  const std::string cmd = "orchestrator";
  Args args(argv,
            {"key-file", "passphrase-file", "ledger", "service-addr", "http-addr", "service-uri",
             "price-per-unit", "pixels-per-unit", "ticket-ev", "max-sessions", "gpu",
             "speed-preset", "admin-addr", "block-time", "max-face-value", "pipeline",
             "max-segment-bytes", "max-connections", "max-connections-per-ip"},
            {"help", "allow-private-uris"});
  if (args.flag("help")) {
    std::cout << kOrchestratorHelp;
    return kExitOk;
  }
  if (!args.error().empty())
    return fail(cmd, args.error() + " (see lpnode orchestrator --help)", kExitUsage);
  auto key = key_from(args);
  if (!key) return fail(cmd, key.error().message, kExitUsage);
  const auto ledger_path = args.get("ledger");
  if (!ledger_path)
    return fail(cmd, "--ledger is required (see lpnode orchestrator --help)", kExitUsage);
  std::string service_host, http_host;
  int service_port = 0, http_port = 0;
  if (!split_host_port(args.get("service-addr").value_or("127.0.0.1:8935"), &service_host,
                       &service_port))
    return fail(cmd, "--service-addr must be HOST:PORT", kExitUsage);
  const auto http_addr = args.get("http-addr");
  if (http_addr && !split_host_port(*http_addr, &http_host, &http_port))
    return fail(cmd, "--http-addr must be HOST:PORT", kExitUsage);
  auto price = int_flag(args, "price-per-unit", 0, 0);
  auto pixels = int_flag(args, "pixels-per-unit", 1, 1);
  auto max_sessions = int_flag(args, "max-sessions", 10, 1);
  auto max_segment = int_flag(args, "max-segment-bytes", 64 << 20, 1);
  auto max_conns = int_flag(args, "max-connections", 4096, 1);
  auto max_per_ip = int_flag(args, "max-connections-per-ip", 1024, 1);
  for (auto* r : {&price, &pixels, &max_sessions, &max_segment, &max_conns, &max_per_ip})
    if (!*r) return fail(cmd, r->error().message, kExitUsage);
  auto block_time = int_flag(args, "block-time", 1, 0);
  if (!block_time) return fail(cmd, block_time.error().message, kExitUsage);
  const std::string admin_addr = args.get("admin-addr").value_or("127.0.0.1:7935");
  std::string admin_host;
  int admin_port = 0;
  if (admin_addr != "none" && !split_host_port(admin_addr, &admin_host, &admin_port))
    return fail(cmd, "--admin-addr must be HOST:PORT or none", kExitUsage);
  auto ticket_ev = parse_u256(args.get("ticket-ev").value_or("1000000000000"));
  if (!ticket_ev || *ticket_ev == 0)
    return fail(cmd, "--ticket-ev must be a positive integer (wei)", kExitUsage);
  const std::string gpu = args.get("gpu").value_or("auto");
  if (gpu != "auto" && gpu != "on" && gpu != "off")
    return fail(cmd, "--gpu must be auto, on or off", kExitUsage);

  auto ledger = ledger::open_local_ledger(*ledger_path);
  if (!ledger) return fail(cmd, *ledger_path + ": " + ledger.error().message, kExitFailed);
  auto queue = pm::TicketQueue::open((*ledger)->path(), **ledger);
  if (!queue) return fail(cmd, *ledger_path + ": " + queue.error().message, kExitFailed);
  pm::RecipientConfig rc;
  rc.ticket_ev = *ticket_ev;
  if (auto mfv = args.get("max-face-value")) {
    auto v = parse_u256(*mfv);
    if (!v) return fail(cmd, "--max-face-value must be a non-negative integer (wei)", kExitUsage);
    rc.max_face_value = *v;
  }
  pm::Recipient recipient(key->address(), **ledger, **queue, rc);

  gst_init(nullptr, nullptr);
  lp_plugin_register_static();

  auto tls = net::self_signed_cert(service_host);
  if (!tls) return fail(cmd, tls.error().message, kExitFailed);
  orch::OrchestratorConfig config;
  config.price = {*price, *pixels};
  config.max_sessions = static_cast<std::size_t>(*max_sessions);
  orch::LocalTranscoder::Options engine;
  engine.gpu = gpu == "on"    ? media::GpuMode::on
               : gpu == "off" ? media::GpuMode::off
                              : media::GpuMode::automatic;
  engine.x264_preset = args.get("speed-preset").value_or("veryfast");
  if (auto name = args.get("pipeline")) {
    // An orchestrator profile (pipelines/orchestrator-*.gst): its lptranscode's gpu and
    // speed-preset are the transcoder's settings, unless --gpu / --speed-preset say otherwise.
    auto profile = load_profile(*name, std::string(LPNODE_SOURCE_DIR) + "/pipelines");
    if (!profile) return fail(cmd, "--pipeline: " + profile.error().message, kExitUsage);
    if (auto st = check_profile(*profile, {}); !st)
      return fail(cmd, st.error().message, kExitUsage);
    const ProfileElement* transcoder = nullptr;
    for (const ProfileElement* e : profile->elements())
      if (e->factory == "lptranscode") transcoder = e;
    if (!transcoder)
      return fail(cmd, profile->origin + ": an orchestrator profile needs an lptranscode element",
                  kExitUsage);
    for (const auto& p : transcoder->props) {
      if (p.name == "gpu" && !args.get("gpu"))
        engine.gpu = p.value == "on"    ? media::GpuMode::on
                     : p.value == "off" ? media::GpuMode::off
                                        : media::GpuMode::automatic;
      if (p.name == "speed-preset" && !args.get("speed-preset")) engine.x264_preset = p.value;
    }
  }
  config.version = LPNODE_VERSION;
  const Address self = key->address();
  auto now = [] {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  };
  // The segment URI is known once the port is bound (port 0 picks one): set after binding.
  config.service_uri = args.get("service-uri").value_or("");
  auto o = std::make_unique<orch::Orchestrator>(
      config, *key, recipient, std::make_shared<orch::LocalTranscoder>(engine), now);
  orch::HttpOptions http_options{.max_body = static_cast<std::size_t>(*max_segment),
                                 .allow_private_uris = args.flag("allow-private-uris"),
                                 .front = {}};
  http_options.front.caps = {static_cast<std::size_t>(*max_conns),
                             static_cast<std::size_t>(*max_per_ip)};
  orch::HttpServer service(*o, *tls, http_options);
  auto bound_service = service.start(service_host, service_port);
  if (!bound_service) return fail(cmd, bound_service.error().message, kExitFailed);
  const std::string service_addr = service_host + ":" + std::to_string(*bound_service);
  // The old second port, only when asked for.
  std::unique_ptr<orch::HttpServer> second;
  std::string segments_addr = service_addr;
  if (http_addr) {
    second = std::make_unique<orch::HttpServer>(*o, *tls, http_options);
    auto bound = second->start(http_host, http_port);
    if (!bound) return fail(cmd, "--http-addr: " + bound.error().message, kExitFailed);
    segments_addr = http_host + ":" + std::to_string(*bound);
  }
  if (config.service_uri.empty()) {
    config.service_uri = "https://" + segments_addr;
    o->set_service_uri(config.service_uri);
  }
  if (auto st = (*ledger)->register_orchestrator(self, "https://" + service_addr); !st)
    return fail(cmd, "cannot register in the ledger: " + st.error().message, kExitFailed);

  QueueTotals redeemed;
  AdminServer admin;
  int bound_admin = 0;
  if (admin_addr != "none") {
    auto bound = admin.start(
        admin_host, admin_port,
        {{"/metrics", [&] { return metrics_reply(*o, **queue, redeemed, *price, *pixels); }},
         {"/healthz",
          [&] {
            std::vector<std::string> problems;
            if (std::string why = ledger_problem(*ledger_path); !why.empty())
              problems.push_back(why);
            return health_reply(problems);
          }},
         {"/status", [&] { return status_reply(*o, **ledger, **queue, redeemed, service_addr); }}});
    if (!bound) return fail(cmd, "--admin-addr " + bound.error().message, kExitFailed);
    bound_admin = *bound;
  }

  // The first signal asks for a stop; a second ends the process at once (the default action),
  // whenever it comes.
  const auto on_stop_signal = [](int sig) {
    if (g_stop.fetch_add(1) > 0) {
      std::signal(sig, SIG_DFL);
      std::raise(sig);
    }
  };
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  // One line on stdout for scripts; the rest on stderr.
  std::printf(
      "{\"address\":\"%s\",\"service\":\"%s\",\"segments\":\"%s\",\"admin\":\"%s\"}\n",
      to_checksum(self).c_str(), service_addr.c_str(), config.service_uri.c_str(),
      bound_admin ? ("http://" + admin_host + ":" + std::to_string(bound_admin)).c_str() : "");
  std::fflush(stdout);
  std::fprintf(stderr,
               "lpnode orchestrator: %s serving gRPC and HTTPS on %s, segments to %s (price %lld "
               "wei per %lld pixels)\n",
               to_checksum(self).c_str(), service_addr.c_str(), config.service_uri.c_str(),
               static_cast<long long>(*price), static_cast<long long>(*pixels));
  // The node's tick: the ledger's block clock, redeem winners whose params expired, forget
  // replay records of expired params, drop idle sessions.
  bool first_tick = true;
  auto tick = [&] {
    if (*block_time > 0) {
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      const bool resume = std::exchange(first_tick, false);
      if (auto t = (*ledger)->tick(now_ms, *block_time * 1000, resume); !t)
        std::fprintf(stderr, "lpnode orchestrator: ledger clock: %s\n", t.error().message.c_str());
    }
    redeem(**queue, redeemed);
    if (auto block = (*ledger)->block_number()) recipient.prune_expired(*block);
  };
  tick();
  for (int ticks = 1; g_stop == 0; ++ticks) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (ticks % 5 != 0) continue;
    tick();
    o->reap_idle();
    // Segments are allocated and freed across many threads: glibc's arenas keep what was freed
    // (measured in the soak: 770 MB resident, 287 MB after a trim). Given back every 30 s.
    if (ticks % 150 == 0) malloc_trim(0);
  }
  // A second signal ends the process at once (the default action): the winning tickets are
  // in the queue's database already, only the segments in flight are lost.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::fprintf(stderr,
               "lpnode orchestrator: stopping: finishing segments in flight (again to quit at "
               "once)\n");
  // The segments in flight get kStopGraceSeconds to finish: the whole stop ends within 5 s
  // of the signal, as a supervisor expects; a gateway retries what is cut elsewhere.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kStopGraceSeconds);
  const auto grace_left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  int cut = second ? second->stop(grace_left()) : 0;
  cut += service.stop(grace_left());
  redeem(**queue, redeemed);
  admin.stop();
  std::size_t waiting = 0;
  for (const auto& [state, n] : queue_states(**queue))
    waiting += state != "redeemed" && state != "dropped" ? n : 0;
  if (cut > 0) {
    // Their transcodes still run on the workers: the process ends without waiting for them
    // (every ticket is in the ledger file already; nothing else is held in memory).
    std::fprintf(stderr,
                 "lpnode orchestrator: stopped: %d segments in flight did not finish within %d s "
                 "of the signal and were cut (%zu winning tickets queued in %s for the next "
                 "start)\n",
                 cut, kStopGraceSeconds, waiting, ledger_path->c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(kExitFailed);
  }
  std::fprintf(
      stderr,
      "lpnode orchestrator: stopped (%zu winning tickets queued in %s for the next start)\n",
      waiting, ledger_path->c_str());
  return kExitOk;
}

}  // namespace lp::node
