// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/gateway/push_ingest.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <libsoup/soup.h>
#include <openssl/rand.h>

#include <cstdio>
#include <mutex>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/contracts.h"
#include "elements/gateway/hls_writer.h"
#include "elements/gateway/verifier.h"
#include "elements/lpmeta.h"
#include "payment/common/bytes.h"

namespace lp::gw {

namespace {

struct Outcome {
  bool ok = false;
  int status = 200;                                             // when !ok
  std::string error;                                            // when !ok
  std::vector<std::pair<std::string, std::string>> renditions;  // profile, bytes
};

void respond_text(SoupServerMessage* msg, int status, const std::string& text) {
  soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, text.data(), text.size());
}

/// go-livepeer's answer: multipart/mixed with one part per rendition when asked, else empty.
void respond_outcome(SoupServerMessage* msg, std::int64_t seq, const Outcome& o) {
  if (!o.ok) {
    respond_text(msg, o.status, o.error);
    return;
  }
  SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
  const char* accept = soup_message_headers_get_one(req, "Accept");
  if (!accept || !g_str_has_prefix(accept, "multipart/mixed")) {
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, "", 0);
    return;
  }
  std::uint8_t rnd[16];
  RAND_bytes(rnd, sizeof rnd);
  const std::string boundary = to_hex(ByteSpan(rnd, sizeof rnd), false);
  std::string body;
  for (const auto& [profile, bytes] : o.renditions) {
    const std::string file = profile + "_" + std::to_string(seq) + ".ts";
    body += "--" + boundary + "\r\n";
    body += "Content-Type: video/mp2t; name=\"" + file + "\"\r\n";
    body += "Content-Length: " + std::to_string(bytes.size()) + "\r\n";
    body += "Content-Disposition: attachment; filename=\"" + file + "\"\r\n";
    body += "Rendition-Name: " + profile + "\r\n\r\n";
    body += bytes;
    body += "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  const std::string type = "multipart/mixed; boundary=" + boundary;
  soup_server_message_set_response(msg, type.c_str(), SOUP_MEMORY_COPY, body.data(), body.size());
}

}  // namespace

struct PushIngest::Stream : std::enable_shared_from_this<PushIngest::Stream> {
  std::string name;
  GMainContext* context = nullptr;  // where answers are sent from
  GstElement* pipeline = nullptr;
  GstElement* appsrc = nullptr;
  GstElement* pay = nullptr;  // its totals
  std::uint64_t pushed = 0;   // main context only
  std::unique_ptr<HlsWriter> hls;
  std::int64_t last_pushed = -1;                                    // main context only
  std::map<std::int64_t, std::vector<SoupServerMessage*>> waiting;  // main context only
  std::mutex mu;
  std::map<std::int64_t, Outcome> done;  // guarded by mu
  bool failed = false;                   // guarded by mu: the pipeline stopped with an error
  std::string failure;                   // guarded by mu

  ~Stream() {
    if (pipeline) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(pipeline);
    }
    if (appsrc) gst_object_unref(appsrc);
    if (pay) gst_object_unref(pay);
    if (context) g_main_context_unref(context);
  }

  /// Answers whoever waits for seq (main context).
  void answer(std::int64_t seq) {
    auto it = waiting.find(seq);
    if (it == waiting.end()) return;
    Outcome o;
    {
      std::lock_guard lock(mu);
      auto d = done.find(seq);
      if (d != done.end()) {
        o = d->second;
      } else if (failed) {
        o.status = 503;
        o.error = failure;
      } else {
        return;
      }
    }
    for (SoupServerMessage* msg : it->second) {
      respond_outcome(msg, seq, o);
      soup_server_message_unpause(msg);
      g_object_unref(msg);
    }
    waiting.erase(it);
  }
  void answer_all() {
    std::vector<std::int64_t> seqs;
    for (const auto& [seq, msgs] : waiting) seqs.push_back(seq);
    for (auto seq : seqs) answer(seq);
  }
  /// From a streaming thread: answer seq (or everyone, seq < 0) on the main context.
  void post_answer(std::int64_t seq) {
    struct Job {
      std::shared_ptr<Stream> s;
      std::int64_t seq;
    };
    g_main_context_invoke_full(
        context, G_PRIORITY_DEFAULT,
        [](gpointer p) -> gboolean {
          auto* j = static_cast<Job*>(p);
          if (j->seq < 0)
            j->s->answer_all();
          else
            j->s->answer(j->seq);
          return G_SOURCE_REMOVE;
        },
        new Job{shared_from_this(), seq}, [](gpointer p) { delete static_cast<Job*>(p); });
  }
};

PaidTranscoding add_paid_transcoding(GstBin* bin, const GatewayConfig& config) {
  GstElement* pay = gst_element_factory_make("lpticketpay", nullptr);
  GstElement* remote = gst_element_factory_make("lpremote-transcode", nullptr);
  GstElement* verify = gst_element_factory_make("lpverify", nullptr);
  if (!pay || !remote || !verify) {
    for (GstElement* e : {pay, remote, verify})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return {};
  }
  g_object_set(pay, "key-file", config.key_file.c_str(), "ledger", config.ledger.c_str(),
               "max-price-per-unit", config.max_price_per_unit, "pixels-per-unit",
               config.pixels_per_unit, nullptr);
  if (!config.password.empty()) g_object_set(pay, "password", config.password.c_str(), nullptr);
  g_object_set(remote, "orchestrators", config.orchestrators.c_str(), "profiles",
               config.profiles.c_str(), "max-in-flight", config.max_in_flight, nullptr);
  if (config.registry) g_object_set(remote, "ledger", config.ledger.c_str(), nullptr);
  g_object_set(verify, "sample", config.verify_sample, nullptr);
  gst_bin_add_many(bin, pay, remote, verify, nullptr);
  gst_element_link_many(pay, remote, verify, nullptr);
  return {pay, remote, verify};
}

PushIngest::PushIngest(GatewayConfig config) : config_(std::move(config)) {}

PushIngest::~PushIngest() { stop(); }

void PushIngest::attach(SoupServer* server) {
  soup_server_add_handler(server, "/live", reinterpret_cast<SoupServerCallback>(on_live), this,
                          nullptr);
}

void PushIngest::stop() {
  for (auto& [name, s] : streams_) {
    if (!s->pipeline) continue;
    gst_app_src_end_of_stream(GST_APP_SRC(s->appsrc));
    gst::ObjectPtr<GstBus> bus(gst_element_get_bus(s->pipeline));
    gst::MessagePtr m(gst_bus_timed_pop_filtered(
        bus.get(), 120 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
    if (s->hls) (void)s->hls->finish();
    s->answer_all();
    for (auto& [seq, msgs] : s->waiting)
      for (SoupServerMessage* msg : msgs) {
        respond_text(msg, 503, "the gateway is stopping");
        soup_server_message_unpause(msg);
        g_object_unref(msg);
      }
    s->waiting.clear();
    gst_object_unref(s->pipeline);
    s->pipeline = nullptr;
  }
}

std::map<std::string, PushIngest::StreamTotals> PushIngest::totals() const {
  std::map<std::string, StreamTotals> out;
  for (const auto& [name, s] : streams_) {
    StreamTotals t;
    t.segments = s->pushed;
    gchar* ev = nullptr;
    guint64 tickets = 0;
    g_object_get(s->pay, "tickets-sent", &tickets, "ev-sent", &ev, nullptr);
    t.tickets_sent = tickets;
    t.ev_sent = ev ? ev : "0";
    g_free(ev);
    out[name] = t;
  }
  return out;
}

void PushIngest::on_live(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                         gpointer self) {
  static_cast<PushIngest*>(self)->handle(msg, path);
}

PushIngest::Stream* PushIngest::stream_for(const std::string& name, std::string* error) {
  if (auto it = streams_.find(name); it != streams_.end()) return it->second.get();
  auto s = std::make_shared<Stream>();
  s->name = name;
  s->context = g_main_context_ref_thread_default();
  s->hls = std::make_unique<HlsWriter>(config_.hls_dir + "/" + name, 0);
  s->pipeline = gst_pipeline_new(("push-" + name).c_str());
  s->appsrc = gst_element_factory_make("appsrc", nullptr);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  if (!s->appsrc || !sink) {
    *error = "a GStreamer element is missing (appsrc, appsink: gstreamer1.0-plugins-base)";
    return nullptr;
  }
  gst_bin_add_many(GST_BIN(s->pipeline), s->appsrc, sink, nullptr);
  const PaidTranscoding chain = add_paid_transcoding(GST_BIN(s->pipeline), config_);
  if (!chain.pay) {
    *error = "the livepeer elements are missing";
    return nullptr;
  }
  gst_object_ref(s->appsrc);
  s->pay = GST_ELEMENT(gst_object_ref(chain.pay));
  gst::CapsPtr caps(
      gst_caps_from_string("video/mpegts,systemstream=(boolean)true,packetsize=(int)188"));
  g_object_set(s->appsrc, "caps", caps.get(), "format", GST_FORMAT_TIME, "is-live", FALSE,
               "max-bytes", static_cast<guint64>(0), nullptr);
  g_object_set(sink, "sync", FALSE, "emit-signals", FALSE, "buffer-list", TRUE,
               nullptr);  // a segment at a time
  gst_element_link(s->appsrc, chain.pay);
  gst_element_link(chain.verify, sink);
  Stream* raw = s.get();
  // Verified segments: kept for their requests (and repeats), written to HLS.
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* appsink, gpointer data) -> GstFlowReturn {
    auto* st = static_cast<Stream*>(data);
    GstSample* sample = gst_app_sink_pull_sample(appsink);
    if (!sample) return GST_FLOW_EOS;
    Outcome o;
    o.ok = true;
    std::int64_t seq = -1;
    auto add = [&](GstBuffer* b) {
      const LpRenditionMeta* rm = lp_buffer_get_rendition_meta(b);
      const LpSegmentMeta* sm = lp_buffer_get_segment_meta(b);
      if (!rm) return;
      seq = static_cast<std::int64_t>(rm->seq);
      GstMapInfo map;
      if (!gst_buffer_map(b, &map, GST_MAP_READ)) return;
      std::string bytes(reinterpret_cast<const char*>(map.data), map.size);
      gst_buffer_unmap(b, &map);
      const double seconds = sm && GST_CLOCK_TIME_IS_VALID(sm->duration)
                                 ? static_cast<double>(sm->duration) / GST_SECOND
                                 : 2.0;
      if (auto stt = st->hls->add(rm->profile, seq, bytes, seconds, rm->width, rm->height); !stt)
        std::fprintf(stderr, "lpnode gateway: HLS: %s\n", stt.error().message.c_str());
      o.renditions.emplace_back(rm->profile, std::move(bytes));
    };
    if (GstBufferList* list = gst_sample_get_buffer_list(sample)) {
      for (guint i = 0; i < gst_buffer_list_length(list); ++i) add(gst_buffer_list_get(list, i));
    } else if (GstBuffer* b = gst_sample_get_buffer(sample)) {
      add(b);
    }
    gst_sample_unref(sample);
    if (seq < 0) return GST_FLOW_OK;
    {
      std::lock_guard lock(st->mu);
      st->done[seq] = std::move(o);
    }
    st->post_answer(seq);
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, raw, nullptr);
  // A segment no orchestrator could do (or that failed verification every time): 500.
  gst::ObjectPtr<GstPad> sinkpad(gst_element_get_static_pad(sink, "sink"));
  gst_pad_add_probe(
      sinkpad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [](GstPad*, GstPadProbeInfo* info, gpointer data) {
        GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
        if (!is_custom_event(ev, kSegmentSkippedEvent)) return GST_PAD_PROBE_OK;
        auto* st = static_cast<Stream*>(data);
        guint64 seq = 0;
        gst_structure_get_uint64(gst_event_get_structure(ev), "seq", &seq);
        const char* reason = gst_structure_get_string(gst_event_get_structure(ev), "reason");
        Outcome o;
        o.status = 500;
        o.error = std::string("segment could not be transcoded: ") + (reason ? reason : "");
        {
          std::lock_guard lock(st->mu);
          st->done[static_cast<std::int64_t>(seq)] = o;
        }
        st->post_answer(static_cast<std::int64_t>(seq));
        return GST_PAD_PROBE_OK;
      },
      raw, nullptr);
  // A pipeline error (no orchestrator answered, the wallet cannot start): 503 for all.
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(s->pipeline));
  gst_bus_set_sync_handler(
      bus.get(),
      [](GstBus*, GstMessage* m, gpointer data) -> GstBusSyncReply {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
          auto* st = static_cast<Stream*>(data);
          GError* e = nullptr;
          gst_message_parse_error(m, &e, nullptr);
          std::fprintf(stderr, "lpnode gateway: stream %s: %s\n", st->name.c_str(),
                       e ? e->message : "error");
          {
            std::lock_guard lock(st->mu);
            st->failed = true;
            st->failure = std::string("No sessions available: ") + (e ? e->message : "error");
          }
          if (e) g_error_free(e);
          st->post_answer(-1);
        }
        return GST_BUS_PASS;
      },
      raw, nullptr);
  if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "cannot start the stream's pipeline";
    return nullptr;
  }
  streams_[name] = s;
  return raw;
}

void PushIngest::handle(SoupServerMessage* msg, const std::string& path) {
  const char* method = soup_server_message_get_method(msg);
  if (g_strcmp0(method, "PUT") != 0 && g_strcmp0(method, "POST") != 0) {
    respond_text(msg, 405, "PUT or POST /live/<name>/<seq>.ts");
    return;
  }
  // /live/<name>/<seq>.ts
  gchar** parts = g_strsplit(path.c_str(), "/", -1);
  const bool shaped = g_strv_length(parts) == 4 && parts[2][0] != '\0';
  std::string name = shaped ? parts[2] : "";
  std::string file = shaped ? parts[3] : "";
  g_strfreev(parts);
  if (!shaped || name.find("..") != std::string::npos) {
    respond_text(msg, 404, "not found: use /live/<name>/<seq>.ts");
    return;
  }
  if (!g_str_has_suffix(file.c_str(), ".ts")) {
    respond_text(msg, 400, "only MPEG-TS segments (.ts) are taken");
    return;
  }
  char* end = nullptr;
  const long long seq = std::strtoll(file.c_str(), &end, 10);
  if (end == file.c_str() || std::string(end) != ".ts" || seq < 0) {
    respond_text(msg, 400, "the segment name must be <seq>.ts with a non-negative number");
    return;
  }
  auto held = streams_.find(name);
  Stream* s = held == streams_.end() ? nullptr : held->second.get();
  if (s) {
    bool known = false;
    {
      std::lock_guard lock(s->mu);
      known = s->done.count(seq) > 0;
    }
    if (known || s->waiting.count(seq)) {  // a repeat: answered from the first, not paid again
      soup_server_message_pause(msg);
      g_object_ref(msg);
      s->waiting[seq].push_back(msg);
      s->answer(seq);
      return;
    }
    if (seq <= s->last_pushed) {
      respond_text(msg, 400,
                   "segment " + std::to_string(seq) + " is older than the stream's last one (" +
                       std::to_string(s->last_pushed) + ")");
      return;
    }
  }
  GBytes* body = soup_message_body_flatten(soup_server_message_get_request_body(msg));
  gsize size = 0;
  const char* data = static_cast<const char*>(g_bytes_get_data(body, &size));
  if (size == 0 || size > config_.max_body) {
    g_bytes_unref(body);
    respond_text(msg, size == 0 ? 400 : 413, size == 0 ? "empty segment" : "segment too large");
    return;
  }
  const MediaProbe probe = probe_segment(std::string_view(data, size));
  if (!probe.error.empty()) {
    g_bytes_unref(body);
    respond_text(msg, 422, "not a segment with H.264 video: " + probe.error);
    return;
  }
  if (!s) {
    std::string error;
    s = stream_for(name, &error);
    if (!s) {
      g_bytes_unref(body);
      respond_text(msg, 503, error);
      return;
    }
  }
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  const char* cd = soup_message_headers_get_one(h, "Content-Duration");
  const long long ms = cd ? std::strtoll(cd, nullptr, 10) : 2000;
  const GstClockTime duration = static_cast<GstClockTime>(ms > 0 ? ms : 2000) * GST_MSECOND;
  GstBuffer* buf = gst_buffer_new_wrapped_bytes(body);
  g_bytes_unref(body);
  GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(seq) * duration;
  GST_BUFFER_DURATION(buf) = duration;
  lp_buffer_add_segment_meta(buf, name.c_str(), static_cast<guint64>(seq), GST_BUFFER_PTS(buf),
                             duration, probe.frames, LP_SEGMENT_FLAG_NONE);
  s->last_pushed = seq;
  ++s->pushed;
  soup_server_message_pause(msg);
  g_object_ref(msg);
  s->waiting[seq].push_back(msg);
  gst_app_src_push_buffer(GST_APP_SRC(s->appsrc), buf);
}

}  // namespace lp::gw
