// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode orchestrator`: the orchestrator service: gRPC (GetOrchestrator, Ping,
// EndTranscodingSession) and HTTPS (/segment, /stream) on loopback or any address, payment
// through the local ledger, winners queued and redeemed.
#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "node/lpnode/cli_util.h"
#include "node/net/tls.h"
#include "node/orchestrator/grpc_server.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/orchestrator.h"
#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"
#include "plugins/livepeer/plugin.h"

namespace lp::node {

namespace {

const char* kOrchestratorHelp = R"(Usage: lpnode orchestrator --key-file FILE --ledger FILE [flags]

Runs a Livepeer orchestrator: answers GetOrchestrator over gRPC (TLS) on --service-addr, takes
segments with Livepeer's payment headers on HTTPS POST /segment at --http-addr, checks the
payment before any work, transcodes with lptranscode (one warm pipeline per session; NVIDIA
where registered, the CPU otherwise), signs the results, serves the renditions at
/stream/<session>/<profile>/<seq>.ts, and queues winning tickets, which are redeemed on the
local ledger once their params expire. It registers itself in the ledger's orchestrator
registry. A self-signed certificate is made at every start, as go-livepeer does.

SIGINT or SIGTERM stops it cleanly: no new requests, segments in flight finish and are answered.

Flags:
  --key-file FILE        the orchestrator's key: raw hex or keystore v3 (env LP_KEY_FILE;
                         LP_PASSPHRASE or --passphrase-file for a keystore)
  --ledger FILE          the local ledger database (env LP_LEDGER)
  --service-addr H:P     gRPC address (default 127.0.0.1:8935)
  --http-addr H:P        HTTPS address for segments and renditions (default: the service port + 1)
  --service-uri URI      what gateways are told to use for segments (default https://<http-addr>)
  --price-per-unit WEI   price in wei per --pixels-per-unit pixels (default 0: free)
  --pixels-per-unit N    (default 1)
  --ticket-ev WEI        expected value of each ticket asked for (default 1000000000000)
  --max-sessions N       concurrent sessions before OrchestratorCapped (default 10)
  --gpu auto|on|off      NVIDIA use for transcoding (default auto)
  --speed-preset P       x264 speed preset on the CPU (default veryfast)

Example (the local ledger funded by `lpnode ledger fund` for the gateway):
  lpnode pm keygen --key-file o.key
  lpnode orchestrator --key-file o.key --ledger demo.db --price-per-unit 1 --pixels-per-unit 1
)";

std::atomic<int> g_stop{0};

}  // namespace

int orchestrator_main(const std::vector<std::string>& argv) {
  const std::string cmd = "orchestrator";
  Args args(argv,
            {"key-file", "passphrase-file", "ledger", "service-addr", "http-addr", "service-uri", "price-per-unit",
             "pixels-per-unit", "ticket-ev", "max-sessions", "gpu", "speed-preset"},
            {"help"});
  if (args.flag("help")) {
    std::cout << kOrchestratorHelp;
    return kExitOk;
  }
  if (!args.error().empty()) return fail(cmd, args.error() + " (see lpnode orchestrator --help)", kExitUsage);
  auto key = key_from(args);
  if (!key) return fail(cmd, key.error().message, kExitUsage);
  const auto ledger_path = args.get("ledger");
  if (!ledger_path) return fail(cmd, "--ledger is required (see lpnode orchestrator --help)", kExitUsage);
  std::string service_host, http_host;
  int service_port = 0, http_port = 0;
  if (!split_host_port(args.get("service-addr").value_or("127.0.0.1:8935"), &service_host, &service_port))
    return fail(cmd, "--service-addr must be HOST:PORT", kExitUsage);
  if (auto h = args.get("http-addr")) {
    if (!split_host_port(*h, &http_host, &http_port)) return fail(cmd, "--http-addr must be HOST:PORT", kExitUsage);
  } else {
    http_host = service_host;
    http_port = service_port == 0 ? 0 : service_port + 1;
  }
  auto price = int_flag(args, "price-per-unit", 0, 0);
  auto pixels = int_flag(args, "pixels-per-unit", 1, 1);
  auto max_sessions = int_flag(args, "max-sessions", 10, 1);
  for (auto* r : {&price, &pixels, &max_sessions})
    if (!*r) return fail(cmd, r->error().message, kExitUsage);
  auto ticket_ev = parse_u256(args.get("ticket-ev").value_or("1000000000000"));
  if (!ticket_ev || *ticket_ev == 0) return fail(cmd, "--ticket-ev must be a positive integer (wei)", kExitUsage);
  const std::string gpu = args.get("gpu").value_or("auto");
  if (gpu != "auto" && gpu != "on" && gpu != "off") return fail(cmd, "--gpu must be auto, on or off", kExitUsage);

  auto ledger = ledger::LocalLedger::open(*ledger_path);
  if (!ledger) return fail(cmd, *ledger_path + ": " + ledger.error().message, kExitFailed);
  auto queue = pm::TicketQueue::open(*ledger_path, **ledger);
  if (!queue) return fail(cmd, *ledger_path + ": " + queue.error().message, kExitFailed);
  pm::RecipientConfig rc;
  rc.ticket_ev = *ticket_ev;
  pm::Recipient recipient(key->address(), **ledger, **queue, rc);

  gst_init(nullptr, nullptr);
  gst_plugin_register_static(GST_VERSION_MAJOR, GST_VERSION_MINOR, "livepeer", "Livepeer network elements",
                             lp_plugin_init, LPNODE_VERSION, "LGPL", "livepeer-gst", "livepeer-gst",
                             "https://livepeer.org");

  auto tls = net::self_signed_cert(service_host);
  if (!tls) return fail(cmd, tls.error().message, kExitFailed);
  orch::OrchestratorConfig config;
  config.price = {*price, *pixels};
  config.max_sessions = static_cast<std::size_t>(*max_sessions);
  config.gpu = gpu == "on" ? media::GpuMode::on : gpu == "off" ? media::GpuMode::off : media::GpuMode::automatic;
  config.x264_preset = args.get("speed-preset").value_or("veryfast");
  config.version = LPNODE_VERSION;
  const Address self = key->address();
  auto now = [] {
    return static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  };
  // The segment URI is known once HTTPS is bound (port 0 picks one): set after binding.
  config.service_uri = args.get("service-uri").value_or("");
  auto o = std::make_unique<orch::Orchestrator>(config, *key, recipient, now);
  orch::HttpServer http(*o, *tls);
  auto bound_http = http.start(http_host, http_port);
  if (!bound_http) return fail(cmd, bound_http.error().message, kExitFailed);
  if (config.service_uri.empty()) {
    config.service_uri = "https://" + http_host + ":" + std::to_string(*bound_http);
    o->set_service_uri(config.service_uri);
  }
  orch::GrpcServer grpc(*o, *tls);
  auto bound_grpc = grpc.start(service_host + ":" + std::to_string(service_port));
  if (!bound_grpc) return fail(cmd, bound_grpc.error().message, kExitFailed);
  const std::string service_addr = service_host + ":" + std::to_string(*bound_grpc);
  if (auto st = (*ledger)->register_orchestrator(self, "https://" + service_addr); !st)
    return fail(cmd, "cannot register in the ledger: " + st.error().message, kExitFailed);

  std::signal(SIGINT, [](int) { g_stop.fetch_add(1); });
  std::signal(SIGTERM, [](int) { g_stop.fetch_add(1); });
  // One line on stdout for scripts; the rest on stderr.
  std::printf("{\"address\":\"%s\",\"service\":\"%s\",\"segments\":\"%s\"}\n", to_checksum(self).c_str(),
              service_addr.c_str(), config.service_uri.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "lpnode orchestrator: %s serving gRPC on %s and segments on %s (price %lld wei per %lld pixels)\n",
               to_checksum(self).c_str(), service_addr.c_str(), config.service_uri.c_str(),
               static_cast<long long>(*price), static_cast<long long>(*pixels));
  // The node's tick: redeem winners whose params expired, drop idle sessions.
  while (g_stop == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    static int ticks = 0;
    if (++ticks % 5 != 0) continue;
    if (auto run = (*queue)->process(); !run)
      std::fprintf(stderr, "lpnode orchestrator: redeeming: %s\n", run.error().message.c_str());
    o->reap_idle();
  }
  std::fprintf(stderr, "lpnode orchestrator: stopping: finishing segments in flight\n");
  grpc.stop();
  http.stop();
  if (auto run = (*queue)->process(); !run)
    std::fprintf(stderr, "lpnode orchestrator: redeeming: %s\n", run.error().message.c_str());
  std::fprintf(stderr, "lpnode orchestrator: stopped\n");
  return kExitOk;
}

}  // namespace lp::node
