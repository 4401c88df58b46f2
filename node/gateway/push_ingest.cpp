// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/gateway/push_ingest.h"

#include <gst/app/gstappsrc.h>
#include <libsoup/soup.h>
#include <malloc.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <utility>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/contracts.h"
#include "elements/gateway/verifier.h"
#include "elements/lpmeta.h"
#include "elements/transcode/profiles.h"
#include "node/orchestrator/http1_front.h"
#include "payment/common/bytes.h"
#include "payment/common/u256.h"

namespace lp::gw {

namespace {

constexpr std::size_t kMaxStreamName = 128;

// Wei totals (decimal text), summed.
std::string add_wei(const std::string& a, const std::string& b) {
  auto x = parse_u256(a), y = parse_u256(b);
  return to_dec(BigInt(x ? *x : U256(0)) + BigInt(y ? *y : U256(0)));
}

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

struct MainContextUnref {
  void operator()(GMainContext* c) const { g_main_context_unref(c); }
};

/// The renditions of one segment as they reach the HLS sink (a buffer list: the source segment,
/// then one buffer per rendition; or a single buffer); seq < 0 when none carries a meta.
Outcome renditions_of(GstBuffer* const* buffers, guint n, std::int64_t* seq) {
  Outcome o;
  o.ok = true;
  *seq = -1;
  for (guint i = 0; i < n; ++i) {
    GstBuffer* b = buffers[i];
    const LpRenditionMeta* rm = lp_buffer_get_rendition_meta(b);
    const LpSegmentMeta* sm = lp_buffer_get_segment_meta(b);
    if (rm)
      *seq = static_cast<std::int64_t>(rm->seq);
    else if (sm && *seq < 0)
      *seq = static_cast<std::int64_t>(sm->seq);
    if (!rm) continue;  // the source segment
    GstMapInfo map;
    if (!gst_buffer_map(b, &map, GST_MAP_READ)) continue;
    o.renditions.emplace_back(rm->profile,
                              std::string(reinterpret_cast<const char*>(map.data), map.size));
    gst_buffer_unmap(b, &map);
  }
  return o;
}

}  // namespace

std::string stream_name_problem(const std::string& name, const std::vector<std::string>& reserved) {
  if (name.empty()) return "the stream name is empty";
  if (name.size() > kMaxStreamName)
    return "the stream name is longer than " + std::to_string(kMaxStreamName) + " bytes";
  // URL-safe characters only (RFC 3986's unreserved set), as a manifest id in a go-livepeer
  // URL needs no escaping: the name is a directory under --hls-dir, a playlist URI and a label.
  for (unsigned char c : name)
    if (!g_ascii_isalnum(c) && c != '_' && c != '-' && c != '.' && c != '~')
      return "the stream name may hold only letters, digits, '_', '-', '.' and '~'";
  if (name[0] == '.' || name[0] == '-' || name[0] == '~')
    return "the stream name must begin with a letter, a digit or '_'";
  if (g_str_has_suffix(name.c_str(), ".m3u8") || g_str_has_suffix(name.c_str(), ".ts"))
    return "the stream name cannot end in .m3u8 or .ts (it would mix with the playlists)";
  for (const std::string& r : reserved)
    if (g_ascii_strcasecmp(r.c_str(), name.c_str()) == 0)
      return "the stream name " + name +
             " is taken by the gateway's own HLS (the main stream's source and renditions)";
  return "";
}

struct PushIngest::Stream : std::enable_shared_from_this<PushIngest::Stream> {
  static constexpr std::size_t kKeptOutcomes = 8;

  std::string name;
  std::unique_ptr<GMainContext, MainContextUnref> context;  // where answers are sent from
  gst::ObjectPtr<GstElement> pipeline;
  GstElement* appsrc = nullptr;    // in pipeline
  gst::ObjectPtr<GstElement> pay;  // its totals, after the pipeline is gone; may be nullptr
  std::uint64_t pushed = 0;        // main context only
  std::int64_t last_pushed = -1;   // main context only
  gint64 last_push_us = 0;         // main context only: g_get_monotonic_time() of the last push
  std::map<std::int64_t, std::vector<SoupServerMessage*>> waiting;  // main context only
  std::mutex mu;
  std::map<std::int64_t, Outcome> done;  // guarded by mu
  bool failed = false;                   // guarded by mu: the pipeline stopped with an error
  std::string failure;                   // guarded by mu
  bool eos_sent = false;                 // main context only: its appsrc was ended
  std::atomic<bool> at_end{false};       // its EOS reached the bus: the playlists are ended

  ~Stream() {
    if (pipeline) gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    for (auto& [seq, msgs] : waiting)
      for (SoupServerMessage* msg : msgs) g_object_unref(msg);
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
    // Outcomes hold a segment's renditions: only the last kKeptOutcomes stay for repeats (an
    // older seq pushed again gets 400); kept for every seq, a stream grew by its whole output.
    std::lock_guard lock(mu);
    while (done.size() > kKeptOutcomes && !waiting.count(done.begin()->first))
      done.erase(done.begin());
  }
  void answer_all() {
    std::vector<std::int64_t> seqs;
    for (const auto& [seq, msgs] : waiting) seqs.push_back(seq);
    for (auto seq : seqs) answer(seq);
  }
  /// From a streaming thread: record seq's outcome and answer it on the main context.
  void finished(std::int64_t seq, Outcome o) {
    {
      std::lock_guard lock(mu);
      done[seq] = std::move(o);
    }
    post_answer(seq);
  }
  /// From a streaming thread: answer seq (or everyone, seq < 0) on the main context.
  void post_answer(std::int64_t seq) {
    struct Job {
      std::shared_ptr<Stream> s;
      std::int64_t seq;
    };
    g_main_context_invoke_full(
        context.get(), G_PRIORITY_DEFAULT,
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

  /// The HLS sink's sink pad: each segment's renditions, or its skip, become its answer.
  static GstPadProbeReturn on_sink_pad(GstPad*, GstPadProbeInfo* info, gpointer data) noexcept {
    auto* st = static_cast<Stream*>(data);
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
      if (!is_custom_event(ev, kSegmentSkippedEvent)) return GST_PAD_PROBE_OK;
      guint64 seq = 0;
      gst_structure_get_uint64(gst_event_get_structure(ev), "seq", &seq);
      const char* reason = gst_structure_get_string(gst_event_get_structure(ev), "reason");
      Outcome o;
      o.status = 500;
      o.error = std::string("segment could not be transcoded: ") + (reason ? reason : "");
      st->finished(static_cast<std::int64_t>(seq), std::move(o));
      return GST_PAD_PROBE_OK;
    }
    std::int64_t seq = -1;
    Outcome o;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
      GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
      std::vector<GstBuffer*> buffers;
      for (guint i = 0; i < gst_buffer_list_length(list); ++i)
        buffers.push_back(gst_buffer_list_get(list, i));
      o = renditions_of(buffers.data(), static_cast<guint>(buffers.size()), &seq);
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
      GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
      o = renditions_of(&b, 1, &seq);
    }
    if (seq >= 0) st->finished(seq, std::move(o));
    return GST_PAD_PROBE_OK;
  }

  /// A pipeline error (no orchestrator answered, the wallet cannot start): 503 for all.
  static GstBusSyncReply on_bus(GstBus*, GstMessage* m, gpointer data) noexcept {
    auto* st = static_cast<Stream*>(data);
    // Queued (PASS) whatever it is: GST_BUS_DROP here leaked the pipeline's bus (a socket pair
    // per ended stream). Nobody watches this bus: reap_idle() empties it.
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) st->at_end = true;
    if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR) return GST_BUS_PASS;
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    const std::string why = e ? e->message : "error";
    g_clear_error(&e);
    std::fprintf(stderr, "lpnode gateway: stream %s: %s\n", st->name.c_str(), why.c_str());
    {
      std::lock_guard lock(st->mu);
      st->failed = true;
      st->failure = "No sessions available: " + why;
    }
    st->post_answer(-1);
    return GST_BUS_PASS;
  }
};

PushIngest::PushIngest(GatewayConfig config, node::PipelineProfile tail)
    : config_(std::move(config)), tail_(std::move(tail)) {
  // What the main stream writes directly under --hls-dir: source/ and one directory per
  // rendition (index.m3u8 is refused by the .m3u8 rule).
  reserved_.emplace_back("source");
  if (auto ladder = media::parse_profiles(config_.profiles))
    for (const auto& p : *ladder) reserved_.push_back(p.name);
}

PushIngest::~PushIngest() {
  if (reaper_) {
    g_source_destroy(reaper_);
    g_source_unref(reaper_);
  }
  stop();
}

void PushIngest::attach(SoupServer* server) {
  soup_server_add_early_handler(server, "/live",
                                reinterpret_cast<SoupServerCallback>(on_live_early), this, nullptr);
  soup_server_add_handler(server, "/live", reinterpret_cast<SoupServerCallback>(on_live), this,
                          nullptr);
  // Streams nobody pushes to any more are ended and freed (pipeline, threads, session).
  reaper_ = g_timeout_source_new_seconds(std::max(1U, std::min(5U, config_.push_idle_seconds)));
  g_source_set_callback(
      reaper_,
      [](gpointer self) -> gboolean {
        static_cast<PushIngest*>(self)->reap_idle();
        return G_SOURCE_CONTINUE;
      },
      this, nullptr);
  g_source_attach(reaper_, g_main_context_get_thread_default());
}

void PushIngest::reap_idle() {
  const gint64 now = g_get_monotonic_time();
  std::vector<std::string> idle;
  for (const auto& [name, s] : streams_) {
    // What the stream's bus queued since (a message or more per segment) would pile up for
    // the stream's life; its EOS and errors were seen by the sync handler already.
    if (s->pipeline) {
      gst::ObjectPtr<GstBus> bus(gst_element_get_bus(s->pipeline.get()));
      while (gst::MessagePtr m{gst_bus_pop(bus.get())}) {
      }
    }
  }
  for (const auto& [name, s] : streams_)
    if (s->waiting.empty() &&
        now - s->last_push_us >= static_cast<gint64>(config_.push_idle_seconds) * G_USEC_PER_SEC)
      idle.push_back(name);
  for (const auto& name : idle) {
    std::fprintf(stderr, "lpnode gateway: stream %s: idle for %u s, ended\n", name.c_str(),
                 config_.push_idle_seconds);
    end_stream(name);
  }
  if (!idle.empty()) malloc_trim(0);  // what the ended pipelines held goes back to the system
}

void PushIngest::begin_stop() {
  stopping_ = true;
  for (const auto& [name, s] : streams_)
    if (s->pipeline && !std::exchange(s->eos_sent, true))
      gst_app_src_end_of_stream(GST_APP_SRC(s->appsrc));  // lphlssink ends the playlists at EOS
}

bool PushIngest::ended() const {
  for (const auto& [name, s] : streams_) {
    if (!s->pipeline || s->at_end) continue;
    std::lock_guard lock(s->mu);
    if (!s->failed) return false;
  }
  return true;
}

void PushIngest::stop(bool graceful) {
  if (graceful) begin_stop();  // every stream ends at once, within one grace
  const gint64 deadline = g_get_monotonic_time() + kEndGraceSeconds * G_USEC_PER_SEC;
  std::vector<std::string> names;
  for (const auto& [name, s] : streams_) names.push_back(name);
  for (const auto& name : names) end_stream(name, graceful, deadline);
}

void PushIngest::end_stream(const std::string& name, bool graceful, gint64 deadline) {
  auto it = streams_.find(name);
  if (it == streams_.end()) return;
  std::shared_ptr<Stream> s = it->second;
  if (s->pipeline) {
    if (graceful) {
      if (!std::exchange(s->eos_sent, true)) gst_app_src_end_of_stream(GST_APP_SRC(s->appsrc));
      if (deadline == 0) deadline = g_get_monotonic_time() + kEndGraceSeconds * G_USEC_PER_SEC;
      const gint64 left = std::max<gint64>(0, deadline - g_get_monotonic_time());
      gst::ObjectPtr<GstBus> bus(gst_element_get_bus(s->pipeline.get()));
      if (!s->at_end) {
        gst::MessagePtr m(gst_bus_timed_pop_filtered(
            bus.get(), static_cast<GstClockTime>(left) * GST_USECOND,
            static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
      }
    }
    gst_element_set_state(s->pipeline.get(), GST_STATE_NULL);
    s->answer_all();
    for (auto& [seq, msgs] : s->waiting)
      for (SoupServerMessage* msg : msgs) {
        respond_text(msg, 503, "the gateway is stopping");
        soup_server_message_unpause(msg);
        g_object_unref(msg);
      }
    s->waiting.clear();
    s->pipeline.reset();
  }
  // Its totals stay for /status and the summary; everything else goes.
  StreamTotals& t = ended_[name];
  const StreamTotals now = totals_of(*s);
  t.segments += now.segments;
  t.tickets_sent += now.tickets_sent;
  t.ev_sent = add_wei(t.ev_sent, now.ev_sent);
  streams_.erase(it);
}

PushIngest::StreamTotals PushIngest::totals_of(const Stream& s) {
  StreamTotals t;
  t.segments = s.pushed;
  if (s.pay) {
    gchar* ev = nullptr;
    guint64 tickets = 0;
    g_object_get(s.pay.get(), "tickets-sent", &tickets, "ev-sent", &ev, nullptr);
    t.tickets_sent = tickets;
    t.ev_sent = ev ? ev : "0";
    g_free(ev);
  }
  return t;
}

std::map<std::string, PushIngest::StreamTotals> PushIngest::totals() const {
  std::map<std::string, StreamTotals> out = ended_;
  for (const auto& [name, s] : streams_) {
    StreamTotals& t = out[name];
    const StreamTotals now = totals_of(*s);
    t.segments += now.segments;
    t.tickets_sent += now.tickets_sent;
    t.ev_sent = add_wei(t.ev_sent, now.ev_sent);
  }
  return out;
}

void PushIngest::on_live(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                         gpointer self) {
  static_cast<PushIngest*>(self)->handle(msg, path);
}

PushIngest::Stream* PushIngest::stream_for(const std::string& name, std::string* error) {
  if (auto it = streams_.find(name); it != streams_.end()) return it->second.get();
  auto s = std::make_shared<Stream>();  // on any return below, ~Stream stops what was made
  s->name = name;
  s->context.reset(g_main_context_ref_thread_default());
  s->pipeline.reset(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(("push-" + name).c_str()))));
  s->appsrc = gst_element_factory_make("appsrc", nullptr);
  if (!s->appsrc) {
    *error = "a GStreamer element is missing (appsrc: gstreamer1.0-plugins-base)";
    return nullptr;
  }
  gst_bin_add(GST_BIN(s->pipeline.get()), s->appsrc);
  const std::string hls_dir = config_.hls_dir + "/" + name;
  auto made = node::build_profile(tail_, GST_BIN(s->pipeline.get()),
                                  profile_values(config_, name, hls_dir));
  if (!made) {
    *error = made.error().message;
    return nullptr;
  }
  GstElement* hls = nullptr;
  const auto elements = tail_.elements();
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (elements[i]->factory == "lpticketpay" && !s->pay)
      s->pay.reset(GST_ELEMENT(gst_object_ref((*made)[i])));
    if (elements[i]->factory == "lphlssink" && !hls) hls = (*made)[i];
  }
  if (!hls) {
    *error = tail_.origin + ": pushed streams need an lphlssink in the profile";
    return nullptr;
  }
  gst::CapsPtr caps(
      gst_caps_from_string("video/mpegts,systemstream=(boolean)true,packetsize=(int)188"));
  g_object_set(s->appsrc, "caps", caps.get(), "format", GST_FORMAT_TIME, "is-live", FALSE,
               "max-bytes", static_cast<guint64>(0), nullptr);
  if (!gst_element_link(s->appsrc, made->front())) {
    *error =
        tail_.origin + ": whole MPEG-TS segments cannot go into " + GST_ELEMENT_NAME(made->front());
    return nullptr;
  }
  Stream* raw = s.get();
  gst::ObjectPtr<GstPad> sinkpad(gst_element_get_static_pad(hls, "sink"));
  gst_pad_add_probe(
      sinkpad.get(),
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                   GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      Stream::on_sink_pad, raw, nullptr);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(s->pipeline.get()));
  gst_bus_set_sync_handler(bus.get(), Stream::on_bus, raw, nullptr);
  if (gst_element_set_state(s->pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "cannot start the stream's pipeline";
    return nullptr;
  }
  streams_[name] = s;
  return raw;
}

std::optional<PushIngest::Refusal> PushIngest::judge_headers(SoupServerMessage* msg,
                                                             const std::string& path,
                                                             std::string* name,
                                                             long long* seq) const {
  const char* method = soup_server_message_get_method(msg);
  if (g_strcmp0(method, "PUT") != 0 && g_strcmp0(method, "POST") != 0)
    return Refusal{405, "PUT or POST /live/<name>/<seq>.ts"};
  // /live/<name>/<seq>.ts, the name URL-encoded
  gchar** parts = g_strsplit(path.c_str(), "/", -1);
  const bool shaped = g_strv_length(parts) == 4 && parts[2][0] != '\0';
  gchar* decoded = shaped ? g_uri_unescape_string(parts[2], nullptr) : nullptr;
  const bool escaped_ok = decoded != nullptr;  // no bad %-escape, no %00
  *name = decoded ? decoded : "";
  const std::string file = shaped ? parts[3] : "";
  g_free(decoded);
  g_strfreev(parts);
  if (!shaped) return Refusal{404, "not found: use /live/<name>/<seq>.ts"};
  if (const std::string why =
          escaped_ok ? stream_name_problem(*name, reserved_) : "the stream name has a bad %-escape";
      !why.empty())
    return Refusal{400, why};
  if (!g_str_has_suffix(file.c_str(), ".ts"))
    return Refusal{400, "only MPEG-TS segments (.ts) are taken"};
  char* end = nullptr;
  *seq = std::strtoll(file.c_str(), &end, 10);
  if (end == file.c_str() || std::string(end) != ".ts" || *seq < 0)
    return Refusal{400, "the segment name must be <seq>.ts with a non-negative number"};
  if (stopping_) return Refusal{503, "the gateway is stopping"};
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  if (soup_message_headers_get_encoding(h) == SOUP_ENCODING_CONTENT_LENGTH &&
      static_cast<std::size_t>(soup_message_headers_get_content_length(h)) > config_.max_body)
    return Refusal{413, "segment too large"};
  // One stream more than --max-streams is refused before its body is read or probed (a crowd
  // of new names must not hold the main loop with a decode each).
  if (!streams_.count(*name) && streams_.size() >= config_.max_streams)
    return Refusal{503, "the gateway takes " + std::to_string(config_.max_streams) +
                            " pushed streams at once (--max-streams); try again later"};
  return std::nullopt;
}

void PushIngest::on_live_early(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                               gpointer self) {
  std::string name;
  long long seq = 0;
  if (auto no = static_cast<PushIngest*>(self)->judge_headers(msg, path, &name, &seq))
    orch::refuse_unread(msg, no->status, "text/plain", no->text);
}

void PushIngest::handle(SoupServerMessage* msg, const std::string& path) {
  std::string name;
  long long seq = 0;
  // Judged before the body was read (on_live_early) and again now that it is in: the streams
  // may have changed meanwhile.
  if (auto no = judge_headers(msg, path, &name, &seq)) {
    respond_text(msg, no->status, no->text);
    return;
  }
  auto held = streams_.find(name);
  Stream* s = held == streams_.end() ? nullptr : held->second.get();
  if (s && s->waiting.empty()) {
    std::lock_guard lock(s->mu);
    if (s->failed) held = streams_.end();  // its pipeline stopped: a new one for this push
  }
  if (s && held == streams_.end()) {
    end_stream(name);
    s = nullptr;
  }
  if (s) {
    bool known = false, retry = false;
    {
      std::lock_guard lock(s->mu);
      auto d = s->done.find(seq);
      known = d != s->done.end();
      // A seq whose earlier attempt failed is attempted again, not answered from the failure.
      if (known && !d->second.ok && !s->waiting.count(seq)) {
        s->done.erase(d);
        known = false;
        retry = true;
      }
    }
    if (known || s->waiting.count(seq)) {  // a repeat: answered from the first, not paid again
      soup_server_message_pause(msg);
      g_object_ref(msg);
      s->waiting[seq].push_back(msg);
      s->answer(seq);
      return;
    }
    if (seq <= s->last_pushed && !retry) {
      respond_text(msg, 400,
                   "segment " + std::to_string(seq) + " is older than the stream's last one (" +
                       std::to_string(s->last_pushed) + ")");
      return;
    }
  }
  if (!s && streams_.size() >= config_.max_streams) {  // a failed stream ended above
    respond_text(msg, 503,
                 "the gateway takes " + std::to_string(config_.max_streams) +
                     " pushed streams at once (--max-streams); try again later");
    return;
  }
  std::unique_ptr<GBytes, decltype(&g_bytes_unref)> body(
      soup_message_body_flatten(soup_server_message_get_request_body(msg)), g_bytes_unref);
  gsize size = 0;
  const char* data = static_cast<const char*>(g_bytes_get_data(body.get(), &size));
  if (size == 0 || size > config_.max_body) {
    respond_text(msg, size == 0 ? 400 : 413, size == 0 ? "empty segment" : "segment too large");
    return;
  }
  const MediaProbe probe = probe_segment(std::string_view(data, size));
  if (!probe.error.empty()) {
    respond_text(msg, 422, "not a segment with H.264 video: " + probe.error);
    return;
  }
  if (!s) {
    std::string error;
    s = stream_for(name, &error);
    if (!s) {
      respond_text(msg, 503, error);
      return;
    }
  }
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  const char* cd = soup_message_headers_get_one(h, "Content-Duration");
  const long long ms = cd ? std::strtoll(cd, nullptr, 10) : 2000;
  const GstClockTime duration = static_cast<GstClockTime>(ms > 0 ? ms : 2000) * GST_MSECOND;
  GstBuffer* buf = gst_buffer_new_wrapped_bytes(body.get());  // its own reference
  GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(seq) * duration;
  GST_BUFFER_DURATION(buf) = duration;
  lp_buffer_add_segment_meta(buf, name.c_str(), static_cast<guint64>(seq), GST_BUFFER_PTS(buf),
                             duration, probe.frames, LP_SEGMENT_FLAG_NONE);
  s->last_pushed = std::max<std::int64_t>(s->last_pushed, seq);
  s->last_push_us = g_get_monotonic_time();
  ++s->pushed;
  soup_server_message_pause(msg);
  g_object_ref(msg);
  s->waiting[seq].push_back(msg);
  gst_app_src_push_buffer(GST_APP_SRC(s->appsrc), buf);
}

}  // namespace lp::gw
