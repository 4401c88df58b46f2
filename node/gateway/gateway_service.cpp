// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/gateway/gateway_service.h"

#include <glib-unix.h>
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <utility>

#include "elements/common/eos_sender.h"
#include "node/gateway/gateway_web.h"
#include "node/lpnode/admin.h"
#include "node/lpnode/cli_util.h"

namespace lp::gw {

namespace {

/// How long a stop waits for the segments in flight: go-livepeer's whole-request deadline for a
/// 2 s segment (8 s) and the time to verify and write what comes back.
// A stop ends within 5 s of the signal: what is in flight gets this long to finish.
constexpr guint kStopGraceSeconds = 3;

Error failure(const std::string& message) {
  return make_error(ErrorKind::fatal, "gateway", message);
}

/// lpremote-transcode's go-livepeer error code (monitor/census.go) of a skipped segment.
std::string error_code_of(const GstStructure* s) {
  const char* code = gst_structure_get_string(s, "error-code");
  return code && *code ? code : "Unknown";
}

}  // namespace

Result<std::unique_ptr<GatewayService>> GatewayService::create(GatewayConfig config,
                                                               const node::PipelineProfile& profile,
                                                               ledger::ChainReader* ledger) {
  std::unique_ptr<GatewayService> g(new GatewayService());
  g->config_ = std::move(config);
  g->ledger_ = ledger;
  g->loop_.reset(g_main_loop_new(nullptr, FALSE));
  if (!g->config_.push_only())
    if (auto st = g->build_input(profile); !st) return st.error();
  auto tail = node::without_head(profile);
  if (!tail) return tail.error();
  g->push_ = std::make_unique<PushIngest>(g->config_, std::move(*tail));
  if (auto st = g->start_http(); !st) return st.error();
  return g;
}

GatewayService::~GatewayService() {
  push_.reset();  // its streams end (and answer) while the server and loop still exist
  for (guint id : signal_sources_)
    if (id) g_source_remove(id);
  if (stop_timer_) g_source_remove(stop_timer_);
  if (pipeline_) {
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    if (eos_sent_.valid()) eos_sent_.wait();
    if (bus_watch_) {
      gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
      gst_bus_remove_watch(bus.get());
    }
  }
}

Status GatewayService::build_input(const node::PipelineProfile& profile) {
  const bool srt = config_.srt();
  pipeline_.reset(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("gateway"))));
  GstElement* src = gst_element_factory_make(srt ? "srtsrc" : "filesrc", "input");
  GstElement* demux = gst_element_factory_make("tsdemux", nullptr);
  if (!src || !demux) {
    if (src) gst_object_unref(gst_object_ref_sink(src));
    if (demux) gst_object_unref(gst_object_ref_sink(demux));
    return failure(std::string("a GStreamer element is missing (") +
                   (srt ? "srtsrc: gstreamer1.0-plugins-bad" : "filesrc") +
                   ", tsdemux: gstreamer1.0-plugins-bad); run scripts/setup.sh");
  }
  g_object_set(src, srt ? "uri" : "location", config_.input.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline_.get()), src, demux, nullptr);
  auto made = node::build_profile(profile, GST_BIN(pipeline_.get()),
                                  profile_values(config_, config_.stream_name, config_.hls_dir));
  if (!made) return made.error();
  const auto elements = profile.elements();
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const std::string& f = elements[i]->factory;
    if (f == "lpticketpay" && !pay_) pay_ = (*made)[i];
    if (f == "lpremote-transcode" && !remote_) remote_ = (*made)[i];
    if (f == "lpverify" && !verify_) verify_ = (*made)[i];
  }
  segmenter_ = made->front();
  if (!gst_element_link(src, demux)) return failure("cannot link the input to tsdemux");
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), this);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  bus_watch_ = gst_bus_add_watch(bus.get(), on_bus, this);
  return ok_status();
}

Status GatewayService::start_http() {
  server_.reset(soup_server_new("server-header", "lpnode-gateway", nullptr));
  push_->attach(server_.get());
  add_file_routes(server_.get(), &config_.hls_dir, &config_.web_dir);
  node::add_routes(server_.get(),
                   {{"/metrics",
                     [this] {
                       return node::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8",
                                              metrics_text(view())};
                     }},
                    {"/status",
                     [this] {
                       return node::HttpReply{200, "application/json", json_text(status())};
                     }},
                    {"/healthz", [this] { return node::health_reply(health_problems()); }}});
  int bound = 0;
  auto front = node::listen_plain(server_.get(), config_.http_host, config_.http_port, &bound);
  if (!front) return failure("--http-addr " + front.error().message);
  front_ = std::move(*front);
  base_url_ = "http://" + config_.http_host + ":" + std::to_string(bound);
  return ok_status();
}

int GatewayService::srt_listener_port() const {
  // srt://:PORT (a listener by default) or srt://HOST:PORT?mode=listener; a caller has none.
  if (!pipeline_ || !config_.srt()) return 0;
  GUri* uri = g_uri_parse(config_.input.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri) return 0;
  const char* host = g_uri_get_host(uri);
  const char* query = g_uri_get_query(uri);
  const bool listener = !host || !*host || (query && std::strstr(query, "mode=listener"));
  const int port = listener ? g_uri_get_port(uri) : 0;
  g_uri_unref(uri);
  return port > 0 ? port : 0;
}

std::vector<std::string> GatewayService::health_problems() const {
  std::vector<std::string> out;
  if (const int port = srt_listener_port(); port && !node::udp_port_bound(port))
    out.push_back("the SRT listener on port " + std::to_string(port) + " is gone");
  if (std::string why = node::ledger_problem(config_.ledger); !why.empty()) out.push_back(why);
  const nlohmann::json orchs = status_json(view())["orchestrators"];
  bool all_suspended = !orchs.empty();
  for (const auto& o : orchs) all_suspended = all_suspended && o.value("suspended", false);
  if (all_suspended) out.emplace_back("every orchestrator is suspended after failures");
  return out;
}

GatewayView GatewayService::view() const {
  return {&config_, &counters_,  pay_,    remote_,
          verify_,  push_.get(), ledger_, base_url_ + "/hls/index.m3u8"};
}

nlohmann::json GatewayService::addresses() const {
  return {{"input", config_.input},
          {"hls", base_url_ + "/hls/index.m3u8"},
          {"player", base_url_ + "/player/"},
          {"status", base_url_ + "/status"}};
}

Result<int> GatewayService::run() {
  signal_sources_[0] = g_unix_signal_add(SIGINT, on_signal, this);
  signal_sources_[1] = g_unix_signal_add(SIGTERM, on_signal, this);
  if (pipeline_ &&
      gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The reason is on the bus.
    gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
    if (gst::MessagePtr m(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)); m)
      on_bus(bus.get(), m.get(), this);
    return failure("the pipeline did not start");
  }
  // Listening (SRT) or reading: a sender may start now.
  std::printf("%s\n", json_text(addresses()).c_str());
  std::fflush(stdout);
  std::fprintf(
      stderr,
      "lpnode gateway: %s%s, HLS at %s/hls/index.m3u8, HTTP push at %s/live/<name>/<seq>.ts\n",
      !pipeline_      ? "no stream input"
      : config_.srt() ? "listening on"
                      : "reading",
      pipeline_ ? (" " + config_.input).c_str() : "", base_url_.c_str(), base_url_.c_str());
  // An SRT listener lost before any stream arrived leaves nothing to wait for: a clear line
  // and a failed exit, for a supervisor to start it again.
  const guint watch = srt_listener_port() ? g_timeout_add_seconds(1, on_listener_check, this) : 0;
  // Segments are allocated and freed across many threads: glibc's arenas keep what was freed
  // unless asked to give it back.
  const guint trim = g_timeout_add_seconds(
      30,
      [](gpointer) -> gboolean {
        malloc_trim(0);
        return G_SOURCE_CONTINUE;
      },
      nullptr);
  g_main_loop_run(loop_.get());
  g_source_remove(trim);
  if (watch) g_source_remove(watch);
  for (guint* id : {&stop_timer_, &stop_poll_})
    if (*id) g_source_remove(std::exchange(*id, 0));
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  if (eos_sent_.valid()) eos_sent_.wait();  // NULL unblocks a source it waited on
  push_->stop(false);  // they were given their ends in the loop: what is left now is cut
  // The answers of the pushes cut there (503) go out before the process ends.
  for (int i = 0; i < 20 && g_main_context_iteration(nullptr, FALSE); ++i) {
  }
  // A stream whose every segment was skipped made no HLS: not a success.
  if (exit_code_ == node::kExitOk && counters_.segments == 0 && counters_.skipped > 0) {
    std::fprintf(stderr,
                 "lpnode gateway: no segment was transcoded (%llu skipped; the lines above say "
                 "why)\n",
                 static_cast<unsigned long long>(counters_.skipped));
    exit_code_ = node::kExitFailed;
  }
  return exit_code_;
}

void GatewayService::on_demux_pad(GstElement*, GstPad* pad, gpointer self) noexcept {
  auto* g = static_cast<GatewayService*>(self);
  g->stream_seen_ = true;
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
  gst_bin_add_many(GST_BIN(g->pipeline_.get()), queue, parse, nullptr);
  gst_element_link(queue, parse);
  gst::ObjectPtr<GstPad> qsink(gst_element_get_static_pad(queue, "sink"));
  gst::ObjectPtr<GstPad> psrc(gst_element_get_static_pad(parse, "src"));
  gst::ObjectPtr<GstPad> target(video ? gst_element_get_static_pad(g->segmenter_, "video")
                                      : gst_element_request_pad_simple(g->segmenter_, "audio"));
  gst_pad_link(pad, qsink.get());
  gst_pad_link(psrc.get(), target.get());
  gst_element_sync_state_with_parent(queue);
  gst_element_sync_state_with_parent(parse);
}

void GatewayService::on_segment(const GstStructure* s) {
  gint64 seq = 0;
  gboolean ok = FALSE;
  double seconds = 0;
  gint attempts = 0;
  gst_structure_get(s, "seq", G_TYPE_INT64, &seq, "ok", G_TYPE_BOOLEAN, &ok, "seconds",
                    G_TYPE_DOUBLE, &seconds, "attempts", G_TYPE_INT, &attempts, nullptr);
  if (attempts > 1) counters_.retried += static_cast<std::uint64_t>(attempts - 1);
  const auto text = [s](const char* field) {
    const char* v = gst_structure_get_string(s, field);
    return v ? v : "";
  };
  if (ok) {
    ++counters_.segments;
    counters_.last_seconds = seconds;
    counters_.seconds_total += seconds;
    std::fprintf(stderr,
                 "lpnode gateway: %s/%lld from %s (%s) in %.0f ms, attempt %d, %s wei/pixel\n",
                 config_.stream_name.c_str(), static_cast<long long>(seq), text("orchestrator"),
                 text("target"), seconds * 1000.0, attempts, text("price-per-pixel"));
  } else {
    ++counters_.skipped;
    ++counters_.errors[error_code_of(s)];
    std::fprintf(stderr, "lpnode gateway: %s/%lld skipped: %s\n", config_.stream_name.c_str(),
                 static_cast<long long>(seq), text("error"));
  }
}

gboolean GatewayService::on_bus(GstBus*, GstMessage* m, gpointer self) noexcept {
  auto* g = static_cast<GatewayService*>(self);
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
      g->exit_code_ = node::kExitFailed;
      g_main_loop_quit(g->loop_.get());
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
      if (s && gst_structure_has_name(s, "lp-segment")) g->on_segment(s);
      break;
    }
    case GST_MESSAGE_EOS:
      // The input's end (or a stop's EOS): the pushed streams end too, then the loop.
      g->input_done_ = true;
      g->begin_stop();
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

gboolean GatewayService::on_listener_check(gpointer self) noexcept {
  auto* g = static_cast<GatewayService*>(self);
  const int port = g->srt_listener_port();
  if (g->stream_seen_ || g->interrupts_ > 0 || node::udp_port_bound(port)) return G_SOURCE_CONTINUE;
  std::fprintf(stderr, "lpnode gateway: the SRT listener on port %d is gone; exiting\n", port);
  g->exit_code_ = node::kExitFailed;
  g_main_loop_quit(g->loop_.get());
  return G_SOURCE_CONTINUE;
}

gboolean GatewayService::on_stop_timeout(gpointer self) noexcept {
  auto* g = static_cast<GatewayService*>(self);
  g->stop_timer_ = 0;
  std::fprintf(stderr,
               "lpnode gateway: stopped: the segments in flight did not finish within %u s of the "
               "signal\n",
               kStopGraceSeconds);
  g->exit_code_ = node::kExitFailed;
  g_main_loop_quit(g->loop_.get());
  return G_SOURCE_REMOVE;
}

void GatewayService::begin_stop() {
  if (!stop_timer_) stop_timer_ = g_timeout_add(kStopGraceSeconds * 1000, on_stop_timeout, this);
  push_->begin_stop();
  if (!stop_poll_) stop_poll_ = g_timeout_add(50, on_stop_poll, this);
  on_stop_poll(this);
}

gboolean GatewayService::on_stop_poll(gpointer self) noexcept {
  auto* g = static_cast<GatewayService*>(self);
  if (g->input_done_ && g->push_->ended()) g_main_loop_quit(g->loop_.get());
  return G_SOURCE_CONTINUE;
}

gboolean GatewayService::on_signal(gpointer self) noexcept {
  auto* g = static_cast<GatewayService*>(self);
  if (++g->interrupts_ == 1) {
    if (!g->pipeline_) {
      std::fprintf(stderr, "lpnode gateway: stopping\n");
      g->input_done_ = true;  // HTTP push only
    } else if (!g->stream_seen_) {
      // Nothing reached the profile (an SRT listener nobody called, a file not read yet): an
      // EOS could not pass the demuxer, which has no pads, and there is nothing to finish.
      std::fprintf(stderr, "lpnode gateway: stopping: no stream had arrived\n");
      g->input_done_ = true;
    } else {
      std::fprintf(stderr,
                   "lpnode gateway: stopping: finishing segments in flight (again to quit at "
                   "once)\n");
      // The bus's EOS ends the input. Sent off the main loop: a source waiting for its network
      // holds the lock the EOS needs; the grace timer ends a stop that never gets there.
      g->eos_sent_ = gst::send_eos_off_thread(g->pipeline_.get());
    }
    g->begin_stop();  // the pushed streams end beside it, within the same grace
  } else {
    g->exit_code_ = node::kExitFailed;
    g_main_loop_quit(g->loop_.get());
  }
  return G_SOURCE_CONTINUE;
}

}  // namespace lp::gw
