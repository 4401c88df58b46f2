// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode gateway`: flags into one GatewayConfig, the checks that need no network, then the
// running service (node/gateway/gateway_service.h) with its summary at the end.
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "elements/gateway/remote_transcoder.h"
#include "elements/transcode/profiles.h"
#include "node/gateway/gateway_service.h"
#include "node/lpnode/cli_util.h"
#include "node/lpnode/pipeline_profile.h"
#include "payment/ledger/settlement.h"
#include "plugins/livepeer/plugin.h"

namespace lp::node {

namespace {

namespace fs = std::filesystem;

const char* kGatewayHelp =
    R"(Usage: lpnode gateway --key-file FILE --ledger FILE [--orchestrators LIST] [flags]

Runs a Livepeer gateway: takes a live stream (MPEG-TS with H.264 and optional AAC, over SRT or
from a file), cuts it into segments, pays orchestrators with tickets from the gateway's deposit
on the local ledger, has each segment transcoded by one of them (retrying elsewhere when one
fails), verifies every result, and writes HLS that it serves over HTTP:
  http://<http-addr>/hls/index.m3u8     multivariant playlist (the source and every profile)
  http://<http-addr>/                   the player page (hls.js, rendition switcher, payments)
  http://<http-addr>/metrics            Prometheus text: segments, tickets, EV, verification
  http://<http-addr>/status             JSON: stream, orchestrators, payments, deposit
  http://<http-addr>/healthz            200 "ok"; 503 with a line per problem: the SRT listener
                                        gone, the ledger file gone, every orchestrator suspended
It also takes go-livepeer's HTTP push on the same address: PUT /live/<name>/<seq>.ts with a
whole MPEG-TS segment answers with the renditions (multipart/mixed when asked with
`Accept: multipart/mixed`); each pushed stream runs through the same profile (--pipeline)
after its lpsegmenter, its HLS under <hls-dir>/<name>/. A stream name is 1 to 128 of
[A-Za-z0-9_.~-], beginning with a letter, a digit or '_', and not one the gateway writes itself
(source, the renditions' names, *.m3u8, *.ts): others get 400. A stream nobody pushes to for
--push-idle-timeout is ended (playlists get EXT-X-ENDLIST) and freed; a push after that starts
it again. A skipped number (0, 1, then 3) is a gap: EXT-X-DISCONTINUITY, and 2 later gets 400.
A segment whose earlier attempt failed is attempted again when pushed again.
One line per segment goes to stderr; a JSON summary (segments, tickets, EV sent, credit left)
to stdout at the end. The stream's end (the SRT caller leaving, the file's end) or SIGINT /
SIGTERM stops it cleanly within 5 s: segments in flight (of the input and of every pushed
stream) get 3 s to finish, playlists get EXT-X-ENDLIST, exit 0; what is still in flight then is
given up (exit 1), and a second signal ends it at once. Before any stream has arrived (an SRT
listener nobody called) the signal ends it at once. A run in which every segment was skipped
exits 1.

Flags:
  --orchestrators LIST   orchestrators' service addresses (host:port, comma-separated); without
                         it, the active orchestrators of the ledger's registry
  --key-file FILE        the gateway's key: raw hex or keystore v3 (LP_PASSPHRASE or
                         --passphrase-file for a keystore)
  --ledger FILE          the local ledger with the gateway's deposit (`lpnode ledger fund`)
  --input URI|FILE       srt://:PORT?mode=listener (the default, port 9000), srt://HOST:PORT for
                         a caller, an MPEG-TS file, or none (HTTP push only)
  --profiles LIST|FILE   preset names, ladder JSON or a .json ladder file
                         (default P240p30fps16x9,P360p30fps16x9)
  --http-addr H:P        where HLS is served (default 127.0.0.1:8935; port 0: any free port)
  --hls-dir DIR          where HLS is written (default ./hls)
  --playlist-length N    segments per media playlist, 0 keeps all (default 6)
  --max-price-per-unit W refuse orchestrators asking more wei per --pixels-per-unit pixels
                         (default 0: any)
  --pixels-per-unit N    (default 1)
  --verify-sample N      compare pictures with the source on 1 in N segments (default 10;
                         1: all, 0: never; the other checks run on every segment)
  --max-in-flight N      segments submitted at once (default 3)
  --stream-name NAME     the stream's name (manifest id) sent to orchestrators (default live)
  --max-streams N        pushed streams at once (default 10, as go-livepeer's -maxSessions); a
                         push for one more gets 503 at once
  --push-idle-timeout S  a pushed stream idle this many seconds is ended and freed (default 60)
  --pipeline NAME|FILE   the gateway profile: what is done with the segments, from lpsegmenter
                         to the HLS sink lphlssink, for the stream input and every pushed
                         stream (default: gateway, pipelines/gateway.gst); its
                         ${placeholders} take these flags' values
  --web-dir DIR          the player page's files (default: the web/ directory of the build's
                         source tree; hls.js from its node_modules, installed by scripts/setup.sh)
  --config FILE          flags from a file, one `name value` per line (env LP_CONFIG)

Every flag can also be set as LP_<FLAG> in the environment (LP_KEY_FILE, LP_HTTP_ADDR, ...);
the command line wins over the environment, which wins over --config.

Segments go to orchestrators over HTTP/2 when their port offers it (go-livepeer's and ours do),
HTTP/1.1 otherwise; SOUP_FORCE_HTTP1=1 in the environment keeps every request on HTTP/1.1.

Example (orchestrator running as in `lpnode orchestrator --help`, gateway funded):
  lpnode gateway --orchestrators 127.0.0.1:8935 --key-file g.key --ledger demo.db \
    --http-addr 127.0.0.1:8080 --input 'srt://:9000?mode=listener'
  ffmpeg -re -i input.ts -c copy -f mpegts 'srt://127.0.0.1:9000?pkt_size=1316'
  # then play http://127.0.0.1:8080/hls/index.m3u8
  curl -T 0.ts -H 'Accept: multipart/mixed' http://127.0.0.1:8080/live/cam1/0.ts   # HTTP push
)";

std::set<std::string> gateway_flags() {
  return {"orchestrators",   "key-file",           "passphrase-file", "ledger",
          "input",           "profiles",           "http-addr",       "hls-dir",
          "playlist-length", "max-price-per-unit", "pixels-per-unit", "verify-sample",
          "max-in-flight",   "stream-name",        "web-dir",         "pipeline",
          "max-streams",     "push-idle-timeout"};
}

/// The typed config from the flags (command line, then LP_ variables, then --config); an error
/// names the flag. Checks what needs no file or network.
Result<gw::GatewayConfig> config_from(const Args& args) {
  const auto usage = [](const std::string& m) {
    return make_error(ErrorKind::invalid_input, "gateway", m);
  };
  gw::GatewayConfig c;
  const auto ledger = args.get("ledger");
  if (!ledger) return usage("--ledger is required (see lpnode gateway --help)");
  if (!args.get("key-file")) return usage("--key-file is required (see lpnode gateway --help)");
  if (auto key = key_from(args); !key) return usage("--key-file: " + key.error().message);
  c.key_file = *args.get("key-file");
  c.ledger = *ledger;
  if (auto passphrase = passphrase_from(args); passphrase && *passphrase)
    c.passphrase = **passphrase;
  c.orchestrators = args.get("orchestrators").value_or("");
  c.profiles = args.get("profiles").value_or(c.profiles);
  if (auto ladder = media::parse_profiles(c.profiles); !ladder)
    return usage("--profiles: " + ladder.error().message);
  auto playlist_length = int_flag(args, "playlist-length", c.playlist_length, 0);
  auto max_price = int_flag(args, "max-price-per-unit", 0, 0);
  auto pixels_per_unit = int_flag(args, "pixels-per-unit", 1, 1);
  auto sample = int_flag(args, "verify-sample", c.verify_sample, 0);
  auto in_flight = int_flag(args, "max-in-flight", c.max_in_flight, 1);
  auto max_streams = int_flag(args, "max-streams", c.max_streams, 1);
  auto push_idle = int_flag(args, "push-idle-timeout", c.push_idle_seconds, 1);
  for (auto* r : {&playlist_length, &max_price, &pixels_per_unit, &sample, &in_flight, &max_streams,
                  &push_idle})
    if (!*r) return usage(r->error().message);
  c.max_streams = static_cast<guint>(*max_streams);
  c.push_idle_seconds = static_cast<guint>(*push_idle);
  c.playlist_length = static_cast<guint>(*playlist_length);
  c.max_price_per_unit = static_cast<guint64>(*max_price);
  c.pixels_per_unit = static_cast<guint64>(*pixels_per_unit);
  c.verify_sample = static_cast<guint>(*sample);
  c.max_in_flight = static_cast<guint>(*in_flight);
  if (!split_host_port(args.get("http-addr").value_or("127.0.0.1:8935"), &c.http_host,
                       &c.http_port))
    return usage("--http-addr must be HOST:PORT");
  c.input = args.get("input").value_or(c.input);
  if (!c.srt() && !c.push_only() && !fs::is_regular_file(c.input))
    return usage("--input: no such file: " + c.input);
  c.hls_dir = args.get("hls-dir").value_or(c.hls_dir);
  c.stream_name = args.get("stream-name").value_or(c.stream_name);
  c.pipeline = args.get("pipeline").value_or(c.pipeline);
  c.web_dir = args.get("web-dir").value_or(LPNODE_WEB_DIR);
  return c;
}

/// The gateway profile, checked against the registry with the config's values: it starts with
/// lpsegmenter (the stream input links into it; HTTP push enters after it) and has an
/// lphlssink (pushed streams' HLS and answers come from it).
Result<PipelineProfile> gateway_profile(const gw::GatewayConfig& c) {
  auto profile = load_profile(c.pipeline, std::string(LPNODE_SOURCE_DIR) + "/pipelines");
  if (!profile)
    return make_error(ErrorKind::invalid_input, "gateway",
                      "--pipeline: " + profile.error().message);
  const auto elements = profile->elements();
  if (elements.empty() || elements[0]->factory != "lpsegmenter")
    return make_error(
        ErrorKind::invalid_input, "gateway",
        profile->origin + ": a gateway profile starts with lpsegmenter (the ingest links into it)");
  if (std::none_of(elements.begin(), elements.end(),
                   [](const ProfileElement* e) { return e->factory == "lphlssink"; }))
    return make_error(ErrorKind::invalid_input, "gateway",
                      profile->origin + ": a gateway profile has an lphlssink (HLS and HTTP push " +
                          "answers come from it)");
  if (auto st = check_profile(*profile, gw::profile_values(c, c.stream_name, c.hls_dir)); !st)
    return st.error();
  if (auto tail = without_head(*profile); !tail) return tail.error();
  return profile;
}

/// Whether any orchestrator accepts a TCP connection: a gateway with none reachable stops at
/// once with the reason for each, rather than failing every segment later.
bool any_reachable(const std::vector<std::string>& targets, std::string* why) {
  std::unique_ptr<GSocketClient, decltype(&g_object_unref)> client(g_socket_client_new(),
                                                                   g_object_unref);
  g_socket_client_set_timeout(client.get(), 3);
  bool any = false;
  for (const auto& t : targets) {
    GError* err = nullptr;
    GSocketConnection* c =
        g_socket_client_connect_to_host(client.get(), t.c_str(), 0, nullptr, &err);
    if (c) {
      any = true;
      g_object_unref(c);
    } else {
      *why += (why->empty() ? "" : "; ") + t + ": " + (err ? err->message : "cannot connect");
    }
    g_clear_error(&err);
  }
  return any;
}

}  // namespace

int gateway_main(const std::vector<std::string>& argv) {
  const std::string cmd = "gateway";
  Args args(argv, gateway_flags(), {"help"});
  if (args.flag("help")) {
    std::cout << kGatewayHelp;
    return kExitOk;
  }
  if (!args.error().empty())
    return fail(cmd, args.error() + " (see lpnode gateway --help)", kExitUsage);
  auto config = config_from(args);
  if (!config) return fail(cmd, config.error().message, kExitUsage);
  if (auto uri = ledger::parse_settlement_uri(config->ledger);
      uri && uri->backend == ledger::SettlementUri::Backend::local &&
      !fs::is_regular_file(uri->location))
    return fail(cmd,
                "--ledger: no such file: " + config->ledger +
                    " (make one with `lpnode ledger --db FILE fund ...`)",
                kExitUsage);
  auto ledger = ledger::open_settlement(config->ledger);
  if (!ledger) return fail(cmd, config->ledger + ": " + ledger.error().message, kExitFailed);
  // The orchestrators: the list, or the ledger's registry (go-livepeer: -orchAddr, or discovery).
  std::vector<ledger::OrchestratorEntry> registry;
  if (config->orchestrators.empty())
    if (auto entries = (*ledger)->orchestrators()) registry = std::move(*entries);
  const std::vector<std::string> targets =
      gw::orchestrator_targets(config->orchestrators, registry);
  if (targets.empty())
    return fail(
        cmd, "no orchestrators: give --orchestrators HOST:PORT,... or register some in the ledger",
        kExitUsage);
  std::error_code ec;
  fs::create_directories(config->hls_dir, ec);
  if (ec)
    return fail(cmd, "--hls-dir: cannot create " + config->hls_dir + ": " + ec.message(),
                kExitFailed);

  gst_init(nullptr, nullptr);
  lp_plugin_register_static();
  // The profile is checked before anything runs; then the network: no orchestrator answering
  // is a failure, not a usage error.
  auto profile = gateway_profile(*config);
  if (!profile) return fail(cmd, profile.error().message, kExitUsage);
  if (std::string why; !any_reachable(targets, &why))
    return fail(cmd, "no orchestrator can be reached: " + why, kExitFailed);
  if (!fs::is_regular_file(fs::path(config->web_dir) / "node_modules/hls.js/dist/hls.min.js"))
    std::fprintf(
        stderr,
        "lpnode gateway: warning: %s/node_modules/hls.js is missing, the player page will not play "
        "(run scripts/setup.sh)\n",
        config->web_dir.c_str());
  auto service = gw::GatewayService::create(std::move(*config), *profile, ledger->get());
  if (!service)
    return fail(cmd, service.error().message,
                service.error().kind == ErrorKind::invalid_input ? kExitUsage : kExitFailed);
  auto code = (*service)->run();
  if (!code) return fail(cmd, code.error().message, kExitFailed);
  std::printf("%s\n", gw::json_text((*service)->summary()).c_str());
  return *code;
}

}  // namespace lp::node
