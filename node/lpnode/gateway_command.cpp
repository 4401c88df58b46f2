// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode gateway`: a live stream in (SRT or a file), segmented, paid, transcoded by
// orchestrators, verified, and published as HLS served over HTTP. The pipeline is built from
// elements and properties (never from operator text spliced into a launch line):
//   srtsrc|filesrc ! tsdemux ! h264parse (+ aacparse) ! lpsegmenter ! lpticketpay
//     ! lpremote-transcode ! lpverify ! lphlssink
#include <glib-unix.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/remote_transcoder.h"
#include "elements/transcode/profiles.h"
#include "node/gateway/push_ingest.h"
#include "node/lpnode/admin.h"
#include "node/lpnode/cli_util.h"
#include "node/lpnode/pipeline_profile.h"
#include "payment/ledger/local_ledger.h"
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
  http://<http-addr>/healthz            200 while it runs
It also takes go-livepeer's HTTP push on the same address: PUT /live/<name>/<seq>.ts with a
whole MPEG-TS segment answers with the renditions (multipart/mixed when asked with
`Accept: multipart/mixed`), written to HLS under <hls-dir>/<name>/ as well.
One line per segment goes to stderr; a JSON summary (segments, tickets, EV sent, credit left)
to stdout at the end. The stream's end (the SRT caller leaving, the file's end) or SIGINT /
SIGTERM stops it cleanly: segments in flight finish, playlists get EXT-X-ENDLIST, exit 0.

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
  --pipeline NAME|FILE   the gateway profile: what is done with the segments, from lpsegmenter
                         to the HLS sink (default: gateway, pipelines/gateway.gst); its
                         ${placeholders} take these flags' values
  --web-dir DIR          the player page's files (default: the web/ directory of the build's
                         source tree; hls.js from its node_modules, installed by scripts/setup.sh)
  --config FILE          flags from a file, one `name value` per line (env LP_CONFIG)

Every flag can also be set as LP_<FLAG> in the environment (LP_KEY_FILE, LP_HTTP_ADDR, ...);
the command line wins over the environment, which wins over --config.

Example (orchestrator running as in `lpnode orchestrator --help`, gateway funded):
  lpnode gateway --orchestrators 127.0.0.1:8935 --key-file g.key --ledger demo.db \
    --http-addr 127.0.0.1:8080 --input 'srt://:9000?mode=listener'
  ffmpeg -re -i input.ts -c copy -f mpegts 'srt://127.0.0.1:9000?pkt_size=1316'
  # then play http://127.0.0.1:8080/hls/index.m3u8
  curl -T 0.ts -H 'Accept: multipart/mixed' http://127.0.0.1:8080/live/cam1/0.ts   # HTTP push
)";

struct Gateway {
  GMainLoop* loop = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* segmenter = nullptr;
  bool streaming = false;  // a stream input (not HTTP push only)
  int exit_code = kExitOk;
  int interrupts = 0;
  std::uint64_t segments = 0, skipped = 0, retried = 0;
  double last_seconds = 0, seconds_total = 0;
  std::string stream_name;
  std::map<std::string, std::uint64_t> errors;  // skipped segments by go-livepeer error code
};

/// go-livepeer's error codes (monitor/census.go) for why a segment could not be done, from the
/// last attempt's message; Verification and Payment are ours.
std::string error_code(const std::string& e) {
  const auto has = [&](const char* w) { return e.find(w) != std::string::npos; };
  if (has("no orchestrator")) return "NoOrchestrators";
  if (has("timed out") || has("imeout") || has("deadline")) return "Timeout";
  if (has("Download")) return "Download";
  if (has("apped")) return "OrchestratorCapped";
  if (has("verification")) return "Verification";
  if (has("EV") || has("price") || has("ayment") || has("alance")) return "Payment";
  return "Unknown";
}

/// tsdemux's pads: H.264 to the segmenter's video pad, AAC to a requested audio pad.
void on_demux_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* g = static_cast<Gateway*>(data);
  gst::CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  const char* name = gst_structure_get_name(s);
  const bool video = g_str_equal(name, "video/x-h264");
  int mpegversion = 0;
  const bool audio = g_str_equal(name, "audio/mpeg") &&
                     gst_structure_get_int(s, "mpegversion", &mpegversion) && mpegversion == 4;
  if (!video && !audio) {
    std::fprintf(stderr, "lpnode gateway: input stream %s left out (only H.264 and AAC are used)\n",
                 name);
    return;
  }
  GstElement* queue = gst_element_factory_make("queue", nullptr);
  GstElement* parse = gst_element_factory_make(video ? "h264parse" : "aacparse", nullptr);
  gst_bin_add_many(GST_BIN(g->pipeline), queue, parse, nullptr);
  gst_element_link(queue, parse);
  gst::ObjectPtr<GstPad> qsink(gst_element_get_static_pad(queue, "sink"));
  gst::ObjectPtr<GstPad> psrc(gst_element_get_static_pad(parse, "src"));
  GstPad* target = video ? gst_element_get_static_pad(g->segmenter, "video")
                         : gst_element_request_pad_simple(g->segmenter, "audio");
  gst_pad_link(pad, qsink.get());
  gst_pad_link(psrc.get(), target);
  gst_object_unref(target);
  gst_element_sync_state_with_parent(queue);
  gst_element_sync_state_with_parent(parse);
}

gboolean on_bus(GstBus*, GstMessage* m, gpointer data) {
  auto* g = static_cast<Gateway*>(data);
  switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ERROR: {
      GError* e = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_error(m, &e, &dbg);
      std::fprintf(stderr, "lpnode gateway: %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)),
                   e->message);
      if (dbg && g_getenv("LP_DEBUG")) std::fprintf(stderr, "  %s\n", dbg);
      g_error_free(e);
      g_free(dbg);
      g->exit_code = kExitFailed;
      g_main_loop_quit(g->loop);
      break;
    }
    case GST_MESSAGE_WARNING: {
      GError* e = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_warning(m, &e, &dbg);
      std::fprintf(stderr, "lpnode gateway: warning: %s%s%s\n", e->message, dbg ? ": " : "",
                   dbg ? dbg : "");
      g_error_free(e);
      g_free(dbg);
      break;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure* s = gst_message_get_structure(m);
      if (s && gst_structure_has_name(s, "lp-segment")) {
        gint64 seq = 0;
        gboolean ok = FALSE;
        double seconds = 0;
        gint attempts = 0;
        gst_structure_get(s, "seq", G_TYPE_INT64, &seq, "ok", G_TYPE_BOOLEAN, &ok, "seconds",
                          G_TYPE_DOUBLE, &seconds, "attempts", G_TYPE_INT, &attempts, nullptr);
        if (attempts > 1) g->retried += static_cast<std::uint64_t>(attempts - 1);
        if (ok) {
          ++g->segments;
          g->last_seconds = seconds;
          g->seconds_total += seconds;
          const char* orchestrator = gst_structure_get_string(s, "orchestrator");
          std::fprintf(
              stderr, "lpnode gateway: %s/%lld from %s (%s) in %.0f ms, attempt %d, %s wei/pixel\n",
              g->stream_name.c_str(), static_cast<long long>(seq), orchestrator,
              gst_structure_get_string(s, "target"), seconds * 1000.0, attempts,
              gst_structure_get_string(s, "price-per-pixel"));
        } else {
          ++g->skipped;
          ++g->errors[error_code(
              gst_structure_get_string(s, "error") ? gst_structure_get_string(s, "error") : "")];
          std::fprintf(stderr, "lpnode gateway: %s/%lld skipped: %s\n", g->stream_name.c_str(),
                       static_cast<long long>(seq), gst_structure_get_string(s, "error"));
        }
      }
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit(g->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_signal(gpointer data) {
  auto* g = static_cast<Gateway*>(data);
  if (++g->interrupts == 1) {
    std::fprintf(
        stderr, "lpnode gateway: stopping: finishing segments in flight (again to quit at once)\n");
    if (g->streaming)
      gst_element_send_event(g->pipeline, gst_event_new_eos());  // the bus's EOS ends the loop
    else
      g_main_loop_quit(g->loop);  // HTTP push only: its streams are ended after the loop
  } else {
    g->exit_code = kExitFailed;
    g_main_loop_quit(g->loop);
  }
  return G_SOURCE_CONTINUE;
}

/// Answers 200 with a file's bytes, or 404 when it cannot be read; returns whether it was 200.
bool serve_file(SoupServerMessage* msg, const fs::path& file, const char* content_type) {
  std::ifstream f(file, std::ios::binary);
  if (!f || fs::is_directory(file)) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return false;
  }
  std::ostringstream body;
  body << f.rdbuf();
  const std::string b = body.str();
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, b.data(), b.size());
  return true;
}

/// GET /hls/...: files under the HLS directory, nothing outside it.
void on_hls(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  const auto* dir = static_cast<const std::string*>(data);
  if (g_strcmp0(soup_server_message_get_method(msg), "GET") != 0 &&
      g_strcmp0(soup_server_message_get_method(msg), "HEAD") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, nullptr);
    return;
  }
  const std::string rel = std::string(path).substr(std::strlen("/hls"));
  if (rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  const fs::path file =
      fs::path(*dir) / (rel.empty() || rel == "/" ? std::string("index.m3u8") : rel.substr(1));
  const bool playlist = file.extension() == ".m3u8";
  if (!serve_file(msg, file, playlist ? "application/vnd.apple.mpegurl" : "video/mp2t")) return;
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_append(h, "Cache-Control", playlist ? "no-cache" : "max-age=3600");
}

/// A GstStructure (element stats) as JSON: numbers, strings, booleans, arrays of structures.
nlohmann::json to_json(const GstStructure* st);

nlohmann::json value_to_json(const GValue* v) {
  if (G_VALUE_HOLDS_STRING(v)) return g_value_get_string(v) ? g_value_get_string(v) : "";
  if (G_VALUE_HOLDS_UINT64(v)) return g_value_get_uint64(v);
  if (G_VALUE_HOLDS_INT64(v)) return g_value_get_int64(v);
  if (G_VALUE_HOLDS_UINT(v)) return g_value_get_uint(v);
  if (G_VALUE_HOLDS_INT(v)) return g_value_get_int(v);
  if (G_VALUE_HOLDS_DOUBLE(v)) return g_value_get_double(v);
  if (G_VALUE_HOLDS_BOOLEAN(v)) return static_cast<bool>(g_value_get_boolean(v));
  if (GST_VALUE_HOLDS_STRUCTURE(v)) return to_json(gst_value_get_structure(v));
  if (GST_VALUE_HOLDS_ARRAY(v)) {
    nlohmann::json a = nlohmann::json::array();
    for (guint i = 0; i < gst_value_array_get_size(v); ++i)
      a.push_back(value_to_json(gst_value_array_get_value(v, i)));
    return a;
  }
  gchar* text = gst_value_serialize(v);
  nlohmann::json out = text ? text : "";
  g_free(text);
  return out;
}

nlohmann::json to_json(const GstStructure* st) {
  nlohmann::json j = nlohmann::json::object();
  if (!st) return j;
  for (gint i = 0; i < gst_structure_n_fields(st); ++i) {
    const char* name = gst_structure_nth_field_name(st, i);
    j[name] = value_to_json(gst_structure_get_value(st, name));
  }
  return j;
}

nlohmann::json element_stats(GstElement* e) {
  if (!e) return nlohmann::json::object();
  GstStructure* st = nullptr;
  g_object_get(e, "stats", &st, nullptr);
  nlohmann::json j = to_json(st);
  if (st) gst_structure_free(st);
  return j;
}

/// Whether any orchestrator accepts a TCP connection: a gateway with none reachable stops at
/// once with the reason for each, rather than failing every segment later.
bool any_reachable(const std::vector<std::string>& targets, std::string* why) {
  GSocketClient* client = g_socket_client_new();
  g_socket_client_set_timeout(client, 3);
  bool any = false;
  for (const auto& t : targets) {
    GError* err = nullptr;
    GSocketConnection* c = g_socket_client_connect_to_host(client, t.c_str(), 0, nullptr, &err);
    if (c) {
      any = true;
      g_object_unref(c);
    } else {
      *why += (why->empty() ? "" : "; ") + t + ": " + (err ? err->message : "cannot connect");
    }
    g_clear_error(&err);
  }
  g_object_unref(client);
  return any;
}

/// What /status and /metrics read: the stream's elements and counters, push streams, the ledger.
struct GatewayView {
  Gateway* g = nullptr;
  GstElement* pay = nullptr;
  GstElement* remote = nullptr;
  GstElement* verify = nullptr;
  gw::PushIngest* push = nullptr;
  ledger::LocalLedger* ledger = nullptr;
  std::string input, hls_url, stream_name, profiles, hls_dir;
};

nlohmann::json status_json(const GatewayView& v) {
  nlohmann::json j;
  j["input"] = v.input;
  j["hls"] = v.hls_url;
  std::error_code ec;
  j["playlist"] = fs::exists(fs::path(v.hls_dir) / "index.m3u8", ec);  // the player waits for it
  j["stream"] = v.stream_name;
  j["profiles"] = v.profiles;
  j["segments"] = v.g->segments;
  j["skipped"] = v.g->skipped;
  j["retried"] = v.g->retried;
  j["last_segment_seconds"] = v.g->last_seconds;
  guint64 verified = 0, failed = 0;
  if (v.verify) g_object_get(v.verify, "verified", &verified, "failed", &failed, nullptr);
  j["verified"] = verified;
  j["verify_failed"] = failed;
  nlohmann::json wallet = element_stats(v.pay);
  nlohmann::json remote = element_stats(v.remote);
  // One entry per orchestrator: what selection knows of it, and what was paid to it.
  nlohmann::json orchs = remote.value("orchestrators", nlohmann::json::array());
  for (auto& o : orchs)
    for (const auto& w : wallet.value("orchestrators", nlohmann::json::array()))
      if (!o.value("address", "").empty() && w.value("address", "") == o.value("address", ""))
        for (const char* k : {"payments", "tickets-sent", "ev-sent", "debited", "balance"})
          o[k] = w[k];
  j["orchestrators"] = orchs;
  wallet.erase("orchestrators");
  j["payments"] = wallet;
  nlohmann::json push = nlohmann::json::object();
  if (v.push)
    for (const auto& [name, t] : v.push->totals())
      push[name] = {
          {"segments", t.segments}, {"tickets_sent", t.tickets_sent}, {"ev_sent", t.ev_sent}};
  j["push"] = push;
  if (v.pay && v.ledger) {
    gchar* address = nullptr;
    g_object_get(v.pay, "address", &address, nullptr);
    if (auto a = address ? parse_address(address)
                         : Result<Address>(make_error(ErrorKind::fatal, "", ""));
        a)
      if (auto info = v.ledger->sender_info(*a)) {
        j["address"] = address;
        j["deposit"] = to_dec(info->deposit);
        j["reserve"] = to_dec(info->reserve);
      }
    g_free(address);
  }
  return j;
}

std::string metrics_text(const GatewayView& v) {
  const nlohmann::json s = status_json(v);
  PromText m;
  std::uint64_t push_segments = 0, push_tickets = 0;
  if (v.push)
    for (const auto& [name, t] : v.push->totals()) {
      push_segments += t.segments;
      push_tickets += t.tickets_sent;
    }
  const auto num = [](const nlohmann::json& j, const char* k) {
    if (!j.contains(k)) return 0.0;
    if (j[k].is_number()) return j[k].get<double>();
    // wei as "n" or "n/d"
    return Rational(j[k].get<std::string>()).convert_to<double>();
  };
  m.counter("livepeer_segment_source_appeared_total", "Source segments cut from the stream",
            static_cast<double>(v.g->segments + v.g->skipped));
  m.counter("livepeer_segment_transcoded_total", "Segments transcoded by an orchestrator",
            static_cast<double>(v.g->segments));
  m.counter("livepeer_segment_skipped_total", "Segments no orchestrator could transcode (skipped)",
            static_cast<double>(v.g->skipped));
  for (const auto& [code, n] : v.g->errors)
    m.counter("livepeer_segment_transcode_failed_total",
              "Skipped segments by the last attempt's error code", static_cast<double>(n),
              {{"error_code", code}});
  m.counter("livepeer_transcode_retried", "Attempts after a segment's first failed",
            static_cast<double>(v.g->retried));
  m.counter("livepeer_transcode_overall_latency_seconds_total",
            "Sum of the segments' submit-to-renditions times", v.g->seconds_total);
  m.gauge("livepeer_transcode_overall_latency_seconds",
          "The last segment's submit-to-renditions time", v.g->last_seconds);
  m.counter("livepeer_fast_verification_done", "Segments whose renditions passed verification",
            num(s, "verified"));
  m.counter("livepeer_fast_verification_failed", "Segments whose renditions failed verification",
            num(s, "verify_failed"));
  m.counter("livepeer_tickets_sent", "Tickets sent to orchestrators",
            num(s["payments"], "tickets-sent"));
  m.counter("livepeer_ticket_value_sent", "Expected value of the tickets sent, wei",
            num(s["payments"], "ev-sent"));
  m.gauge("livepeer_gateway_credit", "Credit left with orchestrators, wei",
          num(s["payments"], "balance"));
  m.counter("livepeer_push_segments_total",
            "Segments taken by HTTP push (a repeated seq counted once)",
            static_cast<double>(push_segments));
  m.counter("livepeer_push_tickets_sent", "Tickets sent for HTTP push streams",
            static_cast<double>(push_tickets));
  if (s.contains("deposit")) {
    m.gauge("livepeer_gateway_deposit", "The gateway's deposit on the ledger, wei",
            num(s, "deposit"));
    m.gauge("livepeer_gateway_reserve", "The gateway's reserve on the ledger, wei",
            num(s, "reserve"));
  }
  std::size_t suspended = 0;
  for (const auto& o : s["orchestrators"]) {
    suspended += o.value("suspended", false);
    const Labels l{{"orchestrator", o.value("target", "")}};
    m.counter("livepeer_orchestrator_segments_total", "Segments an orchestrator transcoded",
              num(o, "successes"), l);
    m.counter("livepeer_orchestrator_errors_total", "Failed attempts on an orchestrator",
              num(o, "failures"), l);
  }
  m.gauge("livepeer_orchestrators_suspended", "Orchestrators suspended after a failure",
          static_cast<double>(suspended));
  return m.str();
}

/// GET /player/...: the page, its script, and hls.js from npm's node_modules.
void on_player(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  const auto* web = static_cast<const std::string*>(data);
  std::string rel = std::string(path).substr(std::strlen("/player"));
  if (rel.empty() || rel == "/") rel = "/index.html";
  static const std::map<std::string, std::pair<std::string, const char*>> files = {
      {"/index.html", {"player.html", "text/html; charset=utf-8"}},
      {"/player.js", {"player.js", "text/javascript; charset=utf-8"}},
      {"/hls.min.js", {"node_modules/hls.js/dist/hls.min.js", "text/javascript; charset=utf-8"}},
  };
  auto it = files.find(rel);
  if (it == files.end()) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  serve_file(msg, fs::path(*web) / it->second.first, it->second.second);
}

void on_root(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer) {
  if (g_strcmp0(path, "/") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  soup_server_message_set_redirect(msg, SOUP_STATUS_FOUND, "/player/");
}

}  // namespace

int gateway_main(const std::vector<std::string>& argv) {
  const std::string cmd = "gateway";
  Args args(argv,
            {"orchestrators", "key-file", "passphrase-file", "ledger", "input", "profiles",
             "http-addr", "hls-dir", "playlist-length", "max-price-per-unit", "pixels-per-unit",
             "verify-sample", "max-in-flight", "stream-name", "web-dir", "pipeline"},
            {"help"});
  if (args.flag("help")) {
    std::cout << kGatewayHelp;
    return kExitOk;
  }
  if (!args.error().empty())
    return fail(cmd, args.error() + " (see lpnode gateway --help)", kExitUsage);
  const std::string orchestrators = args.get("orchestrators").value_or("");
  const auto ledger_path = args.get("ledger");
  if (!ledger_path)
    return fail(cmd, "--ledger is required (see lpnode gateway --help)", kExitUsage);
  if (!args.get("key-file"))
    return fail(cmd, "--key-file is required (see lpnode gateway --help)", kExitUsage);
  auto key = key_from(args);
  if (!key) return fail(cmd, "--key-file: " + key.error().message, kExitUsage);
  auto passphrase = passphrase_from(args);
  const std::string profiles = args.get("profiles").value_or("P240p30fps16x9,P360p30fps16x9");
  if (auto ladder = media::parse_profiles(profiles); !ladder)
    return fail(cmd, "--profiles: " + ladder.error().message, kExitUsage);
  auto playlist_length = int_flag(args, "playlist-length", 6, 0);
  auto max_price = int_flag(args, "max-price-per-unit", 0, 0);
  auto pixels_per_unit = int_flag(args, "pixels-per-unit", 1, 1);
  auto sample = int_flag(args, "verify-sample", 10, 0);
  auto in_flight = int_flag(args, "max-in-flight", 3, 1);
  for (auto* r : {&playlist_length, &max_price, &pixels_per_unit, &sample, &in_flight})
    if (!*r) return fail(cmd, r->error().message, kExitUsage);
  std::string http_host;
  int http_port = 0;
  if (!split_host_port(args.get("http-addr").value_or("127.0.0.1:8935"), &http_host, &http_port))
    return fail(cmd, "--http-addr must be HOST:PORT", kExitUsage);
  const std::string input = args.get("input").value_or("srt://:9000?mode=listener");
  const bool srt = input.rfind("srt://", 0) == 0;
  const bool push_only = input == "none";
  if (!srt && !push_only && !fs::is_regular_file(input))
    return fail(cmd, "--input: no such file: " + input, kExitUsage);
  if (!fs::is_regular_file(*ledger_path))
    return fail(cmd,
                "--ledger: no such file: " + *ledger_path +
                    " (make one with `lpnode ledger --db FILE fund ...`)",
                kExitUsage);
  auto ledger = ledger::LocalLedger::open(*ledger_path);
  if (!ledger) return fail(cmd, *ledger_path + ": " + ledger.error().message, kExitFailed);
  // The orchestrators: the list, or the ledger's registry (go-livepeer: -orchAddr, or discovery).
  std::vector<ledger::OrchestratorEntry> registry;
  if (orchestrators.empty())
    if (auto entries = (*ledger)->orchestrators()) registry = std::move(*entries);
  const std::vector<std::string> targets = gw::orchestrator_targets(orchestrators, registry);
  if (targets.empty())
    return fail(
        cmd, "no orchestrators: give --orchestrators HOST:PORT,... or register some in the ledger",
        kExitUsage);
  const std::string hls_dir = args.get("hls-dir").value_or("hls");
  std::error_code ec;
  fs::create_directories(hls_dir, ec);
  if (ec)
    return fail(cmd, "--hls-dir: cannot create " + hls_dir + ": " + ec.message(), kExitFailed);

  gst_init(nullptr, nullptr);
  lp_plugin_register_static();
  gw::GatewayConfig gateway_config;
  gateway_config.orchestrators = orchestrators;
  if (orchestrators.empty()) gateway_config.registry = true;
  gateway_config.profiles = profiles;
  gateway_config.key_file = *args.get("key-file");
  if (passphrase && *passphrase) gateway_config.password = **passphrase;
  gateway_config.ledger = *ledger_path;
  gateway_config.hls_dir = hls_dir;
  gateway_config.max_price_per_unit = static_cast<guint64>(*max_price);
  gateway_config.pixels_per_unit = static_cast<guint64>(*pixels_per_unit);
  gateway_config.verify_sample = static_cast<guint>(*sample);
  gateway_config.max_in_flight = static_cast<guint>(*in_flight);
  Gateway g;
  g.pipeline = gst_pipeline_new("gateway");
  GstElement* pay = nullptr;
  GstElement* remote = nullptr;
  GstElement* verify = nullptr;
  g.streaming = !push_only;
  // The segments' processing comes from the gateway profile (pipelines/gateway.gst or
  // --pipeline), the operator's values set as property values; checked before anything runs.
  const std::map<std::string, std::string> values = {
      {"stream-name", args.get("stream-name").value_or("live")},
      {"key-file", gateway_config.key_file},
      {"passphrase", gateway_config.password},
      {"ledger", *ledger_path},
      {"max-price-per-unit", std::to_string(*max_price)},
      {"pixels-per-unit", std::to_string(*pixels_per_unit)},
      {"orchestrators", orchestrators},
      {"registry", orchestrators.empty() ? *ledger_path : ""},
      {"profiles", profiles},
      {"max-in-flight", std::to_string(*in_flight)},
      {"verify-sample", std::to_string(*sample)},
      {"hls-dir", hls_dir},
      {"playlist-length", std::to_string(*playlist_length)},
  };
  auto profile = load_profile(args.get("pipeline").value_or("gateway"),
                              std::string(LPNODE_SOURCE_DIR) + "/pipelines");
  if (!profile) return fail(cmd, "--pipeline: " + profile.error().message, kExitUsage);
  if (auto first = profile->elements(); first.empty() || first[0]->factory != "lpsegmenter")
    return fail(
        cmd,
        profile->origin + ": a gateway profile starts with lpsegmenter (the ingest links into it)",
        kExitUsage);
  if (auto st = check_profile(*profile, values); !st)
    return fail(cmd, st.error().message, kExitUsage);
  // Configuration first, then the network: no orchestrator answering is a failure, not a usage
  // error.
  if (std::string why; !any_reachable(targets, &why))
    return fail(cmd, "no orchestrator can be reached: " + why, kExitFailed);
  if (!push_only) {
    GstElement* src = gst_element_factory_make(srt ? "srtsrc" : "filesrc", "input");
    GstElement* demux = gst_element_factory_make("tsdemux", nullptr);
    if (!src || !demux)
      return fail(cmd,
                  std::string("a GStreamer element is missing (") +
                      (srt ? "srtsrc: gstreamer1.0-plugins-bad" : "filesrc") +
                      ", tsdemux: gstreamer1.0-plugins-bad); run scripts/setup.sh",
                  kExitFailed);
    g_object_set(src, srt ? "uri" : "location", input.c_str(), nullptr);
    gst_bin_add_many(GST_BIN(g.pipeline), src, demux, nullptr);
    auto made = build_profile(*profile, GST_BIN(g.pipeline), values);
    if (!made) return fail(cmd, made.error().message, kExitUsage);
    const auto elements = profile->elements();
    for (std::size_t i = 0; i < elements.size(); ++i) {
      const std::string& f = elements[i]->factory;
      if (f == "lpticketpay" && !pay) pay = (*made)[i];
      if (f == "lpremote-transcode" && !remote) remote = (*made)[i];
      if (f == "lpverify" && !verify) verify = (*made)[i];
    }
    g.segmenter = (*made)[0];
    if (!gst_element_link(src, demux))
      return fail(cmd, "cannot link the input to tsdemux", kExitFailed);
    g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), &g);
  }

  // HLS over HTTP, on the same main loop as the pipeline's bus and the signals.
  SoupServer* server = soup_server_new("server-header", "lpnode-gateway", nullptr);
  soup_server_add_handler(server, "/hls", on_hls, const_cast<std::string*>(&hls_dir), nullptr);
  gw::PushIngest push(gateway_config);
  push.attach(server);
  const std::string web_dir = args.get("web-dir").value_or(LPNODE_WEB_DIR);
  soup_server_add_handler(server, "/player", on_player, const_cast<std::string*>(&web_dir),
                          nullptr);
  soup_server_add_handler(server, "/", on_root, nullptr, nullptr);
  if (!fs::is_regular_file(fs::path(web_dir) / "node_modules/hls.js/dist/hls.min.js"))
    std::fprintf(
        stderr,
        "lpnode gateway: warning: %s/node_modules/hls.js is missing, the player page will not play "
        "(run scripts/setup.sh)\n",
        web_dir.c_str());
  const std::string stream_name = args.get("stream-name").value_or("live");
  g.stream_name = stream_name;
  GatewayView view{&g,    pay, remote,      verify,   &push,  ledger->get(),
                   input, "",  stream_name, profiles, hls_dir};
  add_routes(
      server,
      {{"/metrics",
        [&view] {
          return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text(view)};
        }},
       {"/status",
        [&view] {
          return HttpReply{200, "application/json", status_json(view).dump()};
        }},
       {"/healthz", [] {
          return HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
        }}});
  auto bound = listen_plain(server, http_host, http_port);
  if (!bound) return fail(cmd, "--http-addr " + bound.error().message, kExitFailed);
  const int bound_port = *bound;

  g.loop = g_main_loop_new(nullptr, FALSE);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(g.pipeline));
  gst_bus_add_watch(bus.get(), on_bus, &g);
  g_unix_signal_add(SIGINT, on_signal, &g);
  g_unix_signal_add(SIGTERM, on_signal, &g);
  if (!push_only &&
      gst_element_set_state(g.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The reason is on the bus.
    gst::MessagePtr m(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
    if (m) on_bus(bus.get(), m.get(), &g);
    gst_element_set_state(g.pipeline, GST_STATE_NULL);
    return fail(cmd, "the pipeline did not start", kExitFailed);
  }
  const std::string base = "http://" + http_host + ":" + std::to_string(bound_port);
  const std::string hls_url = base + "/hls/index.m3u8";
  view.hls_url = hls_url;
  std::printf(
      "{\"input\":\"%s\",\"hls\":\"%s\",\"player\":\"%s/player/\",\"status\":\"%s/status\"}\n",
      input.c_str(), hls_url.c_str(), base.c_str(), base.c_str());
  std::fflush(stdout);
  std::fprintf(
      stderr, "lpnode gateway: %s%s, HLS at %s, HTTP push at http://%s:%d/live/<name>/<seq>.ts\n",
      push_only ? "no stream input"
      : srt     ? "listening on"
                : "reading",
      push_only ? "" : (" " + input).c_str(), hls_url.c_str(), http_host.c_str(), bound_port);
  g_main_loop_run(g.loop);
  gst_element_set_state(g.pipeline, GST_STATE_NULL);
  push.stop();

  guint64 tickets = 0, verified = 0, failed = 0;
  gchar* ev = nullptr;
  gchar* balance = nullptr;
  if (pay)
    g_object_get(pay, "tickets-sent", &tickets, "ev-sent", &ev, "balance", &balance, nullptr);
  if (verify) g_object_get(verify, "verified", &verified, "failed", &failed, nullptr);
  std::string pushed = "{";
  for (const auto& [name, t] : push.totals()) {
    if (pushed.size() > 1) pushed += ",";
    pushed += "\"" + name + "\":{\"segments\":" + std::to_string(t.segments) +
              ",\"tickets_sent\":" + std::to_string(t.tickets_sent) + ",\"ev_sent\":\"" +
              t.ev_sent + "\"}";
  }
  pushed += "}";
  // Per orchestrator: what selection knew of it and what was paid to it, for the books.
  const std::string per_orchestrator = status_json(view)["orchestrators"].dump();
  std::printf(
      "{\"segments\":%llu,\"skipped\":%llu,\"verified\":%llu,\"verify_failed\":%llu,\"tickets_"
      "sent\":%llu,"
      "\"ev_sent\":\"%s\",\"credit_left\":\"%s\",\"hls\":\"%s\",\"push\":%s,\"orchestrators\":%s}"
      "\n",
      static_cast<unsigned long long>(g.segments), static_cast<unsigned long long>(g.skipped),
      static_cast<unsigned long long>(verified), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(tickets), ev ? ev : "0", balance ? balance : "0",
      hls_dir.c_str(), pushed.c_str(), per_orchestrator.c_str());
  g_free(ev);
  g_free(balance);
  gst_object_unref(g.pipeline);
  g_object_unref(server);
  g_main_loop_unref(g.loop);
  return g.exit_code;
}

}  // namespace lp::node
