// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode gateway`: a live stream in (SRT or a file), segmented, paid, transcoded by
// orchestrators, verified, and published as HLS served over HTTP. The pipeline is built from
// elements and properties (never from operator text spliced into a launch line):
//   srtsrc|filesrc ! tsdemux ! h264parse (+ aacparse) ! lpsegmenter ! lpticketpay
//     ! lpremote-transcode ! lpverify ! lphlssink
#include <glib-unix.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "elements/common/gst_ptr.h"
#include "elements/transcode/profiles.h"
#include "node/gateway/push_ingest.h"
#include "node/lpnode/cli_util.h"
#include "payment/ledger/local_ledger.h"
#include "plugins/livepeer/plugin.h"

namespace lp::node {

namespace {

namespace fs = std::filesystem;

const char* kGatewayHelp = R"(Usage: lpnode gateway --orchestrators LIST --key-file FILE --ledger FILE [flags]

Runs a Livepeer gateway: takes a live stream (MPEG-TS with H.264 and optional AAC, over SRT or
from a file), cuts it into segments, pays orchestrators with tickets from the gateway's deposit
on the local ledger, has each segment transcoded by one of them (retrying elsewhere when one
fails), verifies every result, and writes HLS that it serves over HTTP:
  http://<http-addr>/hls/index.m3u8     multivariant playlist (the source and every profile)
It also takes go-livepeer's HTTP push on the same address: PUT /live/<name>/<seq>.ts with a
whole MPEG-TS segment answers with the renditions (multipart/mixed when asked with
`Accept: multipart/mixed`), written to HLS under <hls-dir>/<name>/ as well.
One line per segment goes to stderr; a JSON summary (segments, tickets, EV sent, credit left)
to stdout at the end. The stream's end (the SRT caller leaving, the file's end) or SIGINT /
SIGTERM stops it cleanly: segments in flight finish, playlists get EXT-X-ENDLIST, exit 0.

Flags:
  --orchestrators LIST   orchestrators' service addresses (host:port, comma-separated)
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
  std::uint64_t segments = 0, skipped = 0;
};

/// tsdemux's pads: H.264 to the segmenter's video pad, AAC to a requested audio pad.
void on_demux_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* g = static_cast<Gateway*>(data);
  gst::CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  const char* name = gst_structure_get_name(s);
  const bool video = g_str_equal(name, "video/x-h264");
  int mpegversion = 0;
  const bool audio = g_str_equal(name, "audio/mpeg") && gst_structure_get_int(s, "mpegversion", &mpegversion) &&
                     mpegversion == 4;
  if (!video && !audio) {
    std::fprintf(stderr, "lpnode gateway: input stream %s left out (only H.264 and AAC are used)\n", name);
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
      std::fprintf(stderr, "lpnode gateway: %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), e->message);
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
      std::fprintf(stderr, "lpnode gateway: warning: %s%s%s\n", e->message, dbg ? ": " : "", dbg ? dbg : "");
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
        gst_structure_get(s, "seq", G_TYPE_INT64, &seq, "ok", G_TYPE_BOOLEAN, &ok, "seconds", G_TYPE_DOUBLE, &seconds,
                          "attempts", G_TYPE_INT, &attempts, nullptr);
        if (ok) {
          ++g->segments;
          std::fprintf(stderr, "lpnode gateway: segment %lld from %s (%s) in %.0f ms, attempt %d\n",
                       static_cast<long long>(seq), gst_structure_get_string(s, "orchestrator"),
                       gst_structure_get_string(s, "target"), seconds * 1000.0, attempts);
        } else {
          ++g->skipped;
          std::fprintf(stderr, "lpnode gateway: segment %lld skipped: %s\n", static_cast<long long>(seq),
                       gst_structure_get_string(s, "error"));
        }
      }
      break;
    }
    case GST_MESSAGE_EOS: g_main_loop_quit(g->loop); break;
    default: break;
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_signal(gpointer data) {
  auto* g = static_cast<Gateway*>(data);
  if (++g->interrupts == 1) {
    std::fprintf(stderr, "lpnode gateway: stopping: finishing segments in flight (again to quit at once)\n");
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
  const fs::path file = fs::path(*dir) / (rel.empty() || rel == "/" ? std::string("index.m3u8") : rel.substr(1));
  std::ifstream f(file, std::ios::binary);
  if (!f || fs::is_directory(file)) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  std::ostringstream body;
  body << f.rdbuf();
  const std::string b = body.str();
  const bool playlist = file.extension() == ".m3u8";
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_append(h, "Cache-Control", playlist ? "no-cache" : "max-age=3600");
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(msg, playlist ? "application/vnd.apple.mpegurl" : "video/mp2t", SOUP_MEMORY_COPY,
                                   b.data(), b.size());
}

}  // namespace

int gateway_main(const std::vector<std::string>& argv) {
  const std::string cmd = "gateway";
  Args args(argv,
            {"orchestrators", "key-file", "passphrase-file", "ledger", "input", "profiles", "http-addr", "hls-dir",
             "playlist-length", "max-price-per-unit", "pixels-per-unit", "verify-sample", "max-in-flight",
             "stream-name"},
            {"help"});
  if (args.flag("help")) {
    std::cout << kGatewayHelp;
    return kExitOk;
  }
  if (!args.error().empty()) return fail(cmd, args.error() + " (see lpnode gateway --help)", kExitUsage);
  const auto orchestrators = args.get("orchestrators");
  if (!orchestrators || orchestrators->empty())
    return fail(cmd, "--orchestrators is required (see lpnode gateway --help)", kExitUsage);
  const auto ledger_path = args.get("ledger");
  if (!ledger_path) return fail(cmd, "--ledger is required (see lpnode gateway --help)", kExitUsage);
  if (!args.get("key-file")) return fail(cmd, "--key-file is required (see lpnode gateway --help)", kExitUsage);
  auto key = key_from(args);
  if (!key) return fail(cmd, key.error().message, kExitUsage);
  auto passphrase = passphrase_from(args);
  const std::string profiles = args.get("profiles").value_or("P240p30fps16x9,P360p30fps16x9");
  if (auto ladder = media::parse_profiles(profiles); !ladder) return fail(cmd, "--profiles: " + ladder.error().message, kExitUsage);
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
  if (!srt && !push_only && !fs::is_regular_file(input)) return fail(cmd, "--input: no such file: " + input, kExitUsage);
  if (auto ledger = ledger::LocalLedger::open(*ledger_path); !ledger)
    return fail(cmd, *ledger_path + ": " + ledger.error().message, kExitFailed);
  const std::string hls_dir = args.get("hls-dir").value_or("hls");
  std::error_code ec;
  fs::create_directories(hls_dir, ec);
  if (ec) return fail(cmd, "--hls-dir: cannot create " + hls_dir + ": " + ec.message(), kExitFailed);

  gst_init(nullptr, nullptr);
  gst_plugin_register_static(GST_VERSION_MAJOR, GST_VERSION_MINOR, "livepeer", "Livepeer network elements",
                             lp_plugin_init, LPNODE_VERSION, "LGPL", "livepeer-gst", "livepeer-gst",
                             "https://livepeer.org");
  gw::GatewayConfig gateway_config;
  gateway_config.orchestrators = *orchestrators;
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
  GstElement* verify = nullptr;
  g.streaming = !push_only;
  if (!push_only) {
    GstElement* src = gst_element_factory_make(srt ? "srtsrc" : "filesrc", "input");
    GstElement* demux = gst_element_factory_make("tsdemux", nullptr);
    g.segmenter = gst_element_factory_make("lpsegmenter", nullptr);
    GstElement* sink = gst_element_factory_make("lphlssink", nullptr);
    if (!src || !demux || !g.segmenter || !sink)
      return fail(cmd, std::string("a GStreamer element is missing (") + (srt ? "srtsrc: gstreamer1.0-plugins-bad" : "filesrc") +
                           ", tsdemux: gstreamer1.0-plugins-bad); run scripts/setup.sh",
                  kExitFailed);
    g_object_set(src, srt ? "uri" : "location", input.c_str(), nullptr);
    g_object_set(g.segmenter, "stream-id", args.get("stream-name").value_or("live").c_str(), nullptr);
    g_object_set(sink, "location", hls_dir.c_str(), "playlist-length", static_cast<guint>(*playlist_length), nullptr);
    gst_bin_add_many(GST_BIN(g.pipeline), src, demux, g.segmenter, sink, nullptr);
    const gw::PaidTranscoding chain = gw::add_paid_transcoding(GST_BIN(g.pipeline), gateway_config);
    pay = chain.pay;
    verify = chain.verify;
    if (!pay || !gst_element_link(src, demux) || !gst_element_link(g.segmenter, pay) || !gst_element_link(verify, sink))
      return fail(cmd, "cannot build the gateway pipeline", kExitFailed);
    g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), &g);
  }

  // HLS over HTTP, on the same main loop as the pipeline's bus and the signals.
  SoupServer* server = soup_server_new("server-header", "lpnode-gateway", nullptr);
  soup_server_add_handler(server, "/hls", on_hls, const_cast<std::string*>(&hls_dir), nullptr);
  gw::PushIngest push(gateway_config);
  push.attach(server);
  GError* err = nullptr;
  GInetAddress* addr = g_inet_address_new_from_string(http_host == "localhost" ? "127.0.0.1" : http_host.c_str());
  if (!addr) return fail(cmd, "--http-addr: not an IP address: " + http_host, kExitUsage);
  GSocketAddress* sa = g_inet_socket_address_new(addr, static_cast<guint16>(http_port));
  g_object_unref(addr);
  const gboolean listening = soup_server_listen(server, sa, static_cast<SoupServerListenOptions>(0), &err);
  g_object_unref(sa);
  if (!listening) {
    const std::string why = err ? err->message : "cannot listen";
    g_clear_error(&err);
    return fail(cmd, "--http-addr " + http_host + ":" + std::to_string(http_port) + ": " + why, kExitFailed);
  }
  GSList* uris = soup_server_get_uris(server);
  const int bound_port = uris ? static_cast<int>(g_uri_get_port(static_cast<GUri*>(uris->data))) : http_port;
  g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));

  g.loop = g_main_loop_new(nullptr, FALSE);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(g.pipeline));
  gst_bus_add_watch(bus.get(), on_bus, &g);
  g_unix_signal_add(SIGINT, on_signal, &g);
  g_unix_signal_add(SIGTERM, on_signal, &g);
  if (!push_only && gst_element_set_state(g.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The reason is on the bus.
    gst::MessagePtr m(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
    if (m) on_bus(bus.get(), m.get(), &g);
    gst_element_set_state(g.pipeline, GST_STATE_NULL);
    return fail(cmd, "the pipeline did not start", kExitFailed);
  }
  const std::string hls_url = "http://" + http_host + ":" + std::to_string(bound_port) + "/hls/index.m3u8";
  std::printf("{\"input\":\"%s\",\"hls\":\"%s\"}\n", input.c_str(), hls_url.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "lpnode gateway: %s%s, HLS at %s, HTTP push at http://%s:%d/live/<name>/<seq>.ts\n",
               push_only ? "no stream input" : srt ? "listening on" : "reading", push_only ? "" : (" " + input).c_str(),
               hls_url.c_str(), http_host.c_str(), bound_port);
  g_main_loop_run(g.loop);
  gst_element_set_state(g.pipeline, GST_STATE_NULL);
  push.stop();

  guint64 tickets = 0, verified = 0, failed = 0;
  gchar* ev = nullptr;
  gchar* balance = nullptr;
  if (pay) g_object_get(pay, "tickets-sent", &tickets, "ev-sent", &ev, "balance", &balance, nullptr);
  if (verify) g_object_get(verify, "verified", &verified, "failed", &failed, nullptr);
  std::string pushed = "{";
  for (const auto& [name, t] : push.totals()) {
    if (pushed.size() > 1) pushed += ",";
    pushed += "\"" + name + "\":{\"segments\":" + std::to_string(t.segments) +
              ",\"tickets_sent\":" + std::to_string(t.tickets_sent) + ",\"ev_sent\":\"" + t.ev_sent + "\"}";
  }
  pushed += "}";
  std::printf(
      "{\"segments\":%llu,\"skipped\":%llu,\"verified\":%llu,\"verify_failed\":%llu,\"tickets_sent\":%llu,"
      "\"ev_sent\":\"%s\",\"credit_left\":\"%s\",\"hls\":\"%s\",\"push\":%s}\n",
      static_cast<unsigned long long>(g.segments), static_cast<unsigned long long>(g.skipped),
      static_cast<unsigned long long>(verified), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(tickets), ev ? ev : "0", balance ? balance : "0", hls_dir.c_str(), pushed.c_str());
  g_free(ev);
  g_free(balance);
  gst_object_unref(g.pipeline);
  g_object_unref(server);
  g_main_loop_unref(g.loop);
  return g.exit_code;
}

}  // namespace lp::node
