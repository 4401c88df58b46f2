// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-lpremote-transcode
 * @title: lpremote-transcode
 *
 * Has each segment (from lpsegmenter) transcoded by a Livepeer orchestrator. It asks each
 * orchestrator of #LpRemoteTranscode:orchestrators (and of the registry of the local ledger in
 * #LpRemoteTranscode:ledger) for its info (GetOrchestrator over gRPC),
 * picks one per segment (fewest segments in flight, then the lowest price, then the lowest
 * latency), pays it through the lpticketpay element upstream (custom queries: see
 * docs/gateway.md), posts the segment (`POST /segment`, go-livepeer's headers and timeouts),
 * downloads the renditions, and retries on another orchestrator (#LpRemoteTranscode:attempts),
 * suspending the one that failed. Several segments are in flight at once
 * (#LpRemoteTranscode:max-in-flight); each orchestrator session still receives its segments in
 * order. Without lpticketpay upstream, requests carry no payment (orchestrators at price 0).
 *
 * Output: one buffer list per source segment, in segment order: the source segment first, then
 * one MPEG-TS buffer per profile with an #LpRenditionMeta (seq, profile, claimed pixels,
 * orchestrator address, result signature) and the source's #LpSegmentMeta. A segment no
 * orchestrator could do is posted as a warning and announced downstream with an
 * "lp-segment-skipped" event. Each segment is also posted as an element message "lp-segment"
 * (seq, ok, orchestrator, target, seconds, attempts, error, error-code: go-livepeer's metric
 * code when not ok, reason-code: the stable code of the last error, price-per-pixel) when it goes
 * downstream; the same line is logged at INFO in the lpremote-transcode debug category. An upstream
 * "lp-verify-failed" event (from lpverify) suspends the orchestrator and has the segment done again
 * elsewhere.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e filesrc location=in.ts ! tsdemux ! h264parse ! lpsegmenter \
 *   ! lpticketpay key-file=gateway.key ledger=ledger.db \
 *   ! lpremote-transcode orchestrators=127.0.0.1:8935 profiles=P360p30fps16x9,P240p30fps16x9 \
 *   ! lpverify ! lphlssink location=hls
 * ]|
 */
#include "elements/gstlpremotetranscode.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "elements/common/worker_pool.h"
#include "elements/gateway/contracts.h"
#include "elements/gateway/remote_transcoder.h"
#include "elements/gateway/segment_sequencer.h"
#include "elements/lpmeta.h"
#include "payment/ledger/settlement.h"

GST_DEBUG_CATEGORY_STATIC(lp_remote_transcode_debug);
#define GST_CAT_DEFAULT lp_remote_transcode_debug

enum {
  PROP_0,
  PROP_ORCHESTRATORS,
  PROP_LEDGER,
  PROP_PROFILES,
  PROP_ATTEMPTS,
  PROP_MAX_IN_FLIGHT,
  PROP_SUSPEND_SECONDS,
  PROP_TIMEOUT_MULTIPLIER,
  PROP_STATS
};

#define DEFAULT_PROFILES "P240p30fps16x9,P360p30fps16x9"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true, packetsize=(int)188"));

namespace {

struct Settings {
  std::string orchestrators;
  std::string ledger;
  std::string profiles = DEFAULT_PROFILES;
  guint attempts = 3;
  guint max_in_flight = 3;
  guint suspend_seconds = 30;
  gdouble timeout_multiplier = 1.0;
};

/// The wallet upstream (lpticketpay), reached with custom queries.
class QueryPayer : public lp::gw::Payer {
 public:
  explicit QueryPayer(GstPad* sinkpad) : pad_(sinkpad) {}
  lp::Result<lp::Address> address() override {
    if (auto known = learnt(); known) return *known;
    if (auto sig = query_sign(""); !sig) return sig.error();  // learnt from the wallet's answer
    return learnt().value_or(lp::Address{});
  }
  lp::Result<lp::Signature> sign(lp::ByteSpan message) override {
    return query_sign(std::string(reinterpret_cast<const char*>(message.data()), message.size()));
  }
  lp::Result<Payment> pay(const lp::Address& orchestrator, const std::string& session,
                          const ::net::TicketParams& params, const ::net::PriceInfo& price,
                          const lp::Rational& fee) override {
    GBytes* p = lp::gw::bytes_from(params.SerializeAsString());
    GBytes* pr = lp::gw::bytes_from(price.SerializeAsString());
    GstQuery* q = gst_query_new_custom(
        GST_QUERY_CUSTOM,
        gst_structure_new(lp::gw::kPaymentQuery, "orchestrator", G_TYPE_STRING,
                          lp::to_checksum(orchestrator).c_str(), "session", G_TYPE_STRING,
                          session.c_str(), "ticket-params", G_TYPE_BYTES, p, "price", G_TYPE_BYTES,
                          pr, "fee", G_TYPE_STRING, lp::to_string(fee).c_str(), nullptr));
    g_bytes_unref(p);
    g_bytes_unref(pr);
    const gboolean answered = gst_pad_peer_query(pad_, q);
    const GstStructure* s = gst_query_get_structure(q);
    lp::Result<Payment> out =
        lp::make_error(lp::ErrorKind::fatal, "no_wallet", "no lpticketpay upstream answered");
    if (answered) {
      GBytes* payment = nullptr;
      guint64 grant = 0;
      guint tickets = 0;
      if (auto err = lp::gw::get_error(s)) {
        out = std::move(*err);  // the wallet's own code and kind ("ticket_params_expired"...)
      } else if (gst_structure_get(s, "payment", G_TYPE_BYTES, &payment, "grant", G_TYPE_UINT64,
                                   &grant, "tickets", G_TYPE_UINT, &tickets, nullptr)) {
        out = Payment{lp::gw::to_string_bytes(payment), grant, tickets};
        g_bytes_unref(payment);
      }
    }
    gst_query_unref(q);
    return out;
  }
  void settle(std::uint64_t grant, lp::gw::SettleOutcome outcome,
              const lp::Rational& debit) override {
    GstQuery* q = gst_query_new_custom(
        GST_QUERY_CUSTOM,
        gst_structure_new(lp::gw::kSettleQuery, "grant", G_TYPE_UINT64, grant, "outcome",
                          G_TYPE_INT, static_cast<gint>(outcome), "debit", G_TYPE_STRING,
                          lp::to_string(debit).c_str(), nullptr));
    gst_pad_peer_query(pad_, q);
    gst_query_unref(q);
  }

 private:
  lp::Result<lp::Signature> query_sign(const std::string& message) {
    GBytes* m = lp::gw::bytes_from(message);
    GstQuery* q = gst_query_new_custom(
        GST_QUERY_CUSTOM,
        gst_structure_new(lp::gw::kSignQuery, "message", G_TYPE_BYTES, m, nullptr));
    g_bytes_unref(m);
    lp::Result<lp::Signature> out =
        lp::make_error(lp::ErrorKind::fatal, "no_wallet", "no lpticketpay upstream answered");
    if (gst_pad_peer_query(pad_, q)) {
      const GstStructure* s = gst_query_get_structure(q);
      GBytes* sig = nullptr;
      const char* addr = gst_structure_get_string(s, "address");
      if (gst_structure_get(s, "signature", G_TYPE_BYTES, &sig, nullptr) && addr) {
        const std::string b = lp::gw::to_string_bytes(sig);
        g_bytes_unref(sig);
        auto a = lp::parse_address(addr);
        if (b.size() == 65 && a) {
          lp::Signature out_sig{};
          std::copy(b.begin(), b.end(), out_sig.begin());
          {
            std::lock_guard lock(mu_);  // several orchestrators are asked at once
            address_ = *a;
          }
          out = out_sig;
        }
      }
    }
    gst_query_unref(q);
    return out;
  }
  std::optional<lp::Address> learnt() {
    std::lock_guard lock(mu_);
    if (address_ == lp::Address{}) return std::nullopt;
    return address_;
  }

  GstPad* pad_;
  std::mutex mu_;
  lp::Address address_{};  // guarded by mu_
};

/// A segment's way through: its source, and what came back.
struct Job {
  lp::gst::BufferPtr source;
  lp::gw::SourceSegment segment;
  std::optional<lp::gw::RemoteOutcome> outcome;  // set when done
};

}  // namespace

struct LpRemoteTranscodePriv {
  std::mutex settings_lock;
  Settings settings;  // guarded by settings_lock

  std::mutex lock;  // guards everything below
  std::condition_variable cv;
  std::unique_ptr<QueryPayer> payer;
  std::unique_ptr<lp::gw::RemoteTranscoder> rt;
  std::unique_ptr<lp::WorkerPool> pool;  // max-in-flight workers: the segments' network work
  std::vector<lp::media::VideoProfile> ladder;
  bool started = false;
  bool flushing = false;
  bool stopping = false;
  bool pushing = false;  // the output thread is pushing a segment (the lock is not held then)
  int in_flight = 0;     // segments being worked on (first tries and redos)
  lp::gw::SegmentSequencer<std::shared_ptr<Job>> sequencer{3, 32};
  GstFlowReturn last_flow = GST_FLOW_OK;
  guint64 segments_done = 0;     // pushed with renditions
  guint64 segments_skipped = 0;  // no orchestrator could do them
  std::vector<lp::gw::RemoteTranscoder::OrchestratorState> last_state;  // at the last stop
  lp::net::SegmentClient::Counters last_counters;                       // at the last stop
  std::thread output;
};

struct _LpRemoteTranscode {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  LpRemoteTranscodePriv* priv;
};

G_DEFINE_TYPE(LpRemoteTranscode, lp_remote_transcode, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(lpremote_transcode, "lpremote-transcode", GST_RANK_NONE,
                            LP_TYPE_REMOTE_TRANSCODE);

/// A worker's task: one segment to the end (its tries on several orchestrators included).
static void run_job(LpRemoteTranscode* self, const std::shared_ptr<Job>& job,
                    lp::gw::Placement placement, std::set<int> exclude) {
  LpRemoteTranscodePriv* p = self->priv;
  lp::gw::RemoteOutcome outcome = p->rt->transcode(job->segment, placement, std::move(exclude));
  if (outcome.ok)
    GST_DEBUG_OBJECT(
        self, "segment %" G_GINT64_FORMAT ": %zu renditions from %s in %.0f ms (attempt %d)",
        job->segment.seq, outcome.renditions.size(), lp::to_checksum(outcome.orchestrator).c_str(),
        outcome.seconds * 1000.0, outcome.attempts);
  std::lock_guard lock(p->lock);
  job->outcome = std::move(outcome);
  p->sequencer.complete(job->segment.seq);
  --p->in_flight;
  p->cv.notify_all();
}

static GstBufferList* make_list(const Job& job,
                                const std::vector<lp::media::VideoProfile>& ladder) {
  GstBufferList* list = gst_buffer_list_new();
  GstBuffer* src = job.source.get();
  gst_buffer_list_add(list, gst_buffer_ref(src));
  const LpSegmentMeta* sm = lp_buffer_get_segment_meta(src);
  const lp::gw::RemoteOutcome& o = *job.outcome;
  for (std::size_t i = 0; i < o.renditions.size(); ++i) {
    const auto& r = o.renditions[i];
    GstBuffer* b = gst_buffer_new_memdup(r.bytes.data(), r.bytes.size());
    GST_BUFFER_PTS(b) = GST_BUFFER_PTS(src);
    GST_BUFFER_DTS(b) = GST_BUFFER_DTS(src);
    GST_BUFFER_DURATION(b) = GST_BUFFER_DURATION(src);
    if (sm)
      lp_buffer_add_segment_meta(b, sm->stream_id, sm->seq, sm->start_pts, sm->duration,
                                 sm->video_frames, sm->flags);
    const auto& profile = ladder[i];
    LpRenditionMeta* rm =
        lp_buffer_add_rendition_meta(b, static_cast<guint64>(o.seq), r.profile.c_str(),
                                     profile.width, profile.height, 0, r.pixels);
    rm->orchestrator = g_strdup(lp::to_checksum(o.orchestrator).c_str());
    rm->signature = g_bytes_new(o.signature.data(), o.signature.size());
    rm->fps_n = profile.fps;
    rm->fps_d = std::max(1, profile.fps_den);
    gst_buffer_list_add(list, b);
  }
  return list;
}

static void push_skipped(LpRemoteTranscode* self, std::int64_t seq,
                         const lp::gw::RemoteOutcome& o) {
  GST_ELEMENT_WARNING_WITH_DETAILS(self, STREAM, FAILED,
                                   ("segment %" G_GINT64_FORMAT " could not be transcoded", seq),
                                   ("%s", o.error.c_str()),
                                   ("error-code", G_TYPE_STRING, o.census.c_str(), "reason-code",
                                    G_TYPE_STRING, o.error_code.c_str(), nullptr));
  gst_pad_push_event(
      self->srcpad,
      gst_event_new_custom(
          GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new(lp::gw::kSegmentSkippedEvent, "seq", G_TYPE_UINT64,
                            static_cast<guint64>(seq), "reason", G_TYPE_STRING, o.error.c_str(),
                            "error-code", G_TYPE_STRING, o.census.c_str(), nullptr)));
}

/// Pushes finished segments downstream in order (the sequencer decides which is next).
static void output_loop(LpRemoteTranscode* self) {
  LpRemoteTranscodePriv* p = self->priv;
  std::unique_lock lock(p->lock);
  for (;;) {
    std::optional<lp::gw::SegmentSequencer<std::shared_ptr<Job>>::Release> next;
    p->cv.wait(lock, [&] { return p->stopping || (next = p->sequencer.head()).has_value(); });
    if (p->stopping) return;
    const std::int64_t seq = next->seq;
    const std::shared_ptr<Job> job = next->item;
    const lp::gw::RemoteOutcome o = *job->outcome;
    if (o.error_code == "cancelled") {  // a flush or a stop cut it short: nothing to tell
      p->sequencer.released(seq, next->refusals);
      continue;
    }
    GstBufferList* list = o.ok ? make_list(*job, p->ladder) : nullptr;
    p->pushing = true;
    lock.unlock();
    if (o.ok)
      GST_INFO_OBJECT(
          self, "%s/%" G_GINT64_FORMAT " from %s (%s) in %.0f ms, attempt %d, %s wei/pixel",
          job->segment.manifest_id.c_str(), seq, lp::to_checksum(o.orchestrator).c_str(),
          o.orchestrator_target.c_str(), o.seconds * 1000.0, o.attempts, o.price_per_pixel.c_str());
    else
      GST_INFO_OBJECT(self, "%s/%" G_GINT64_FORMAT " skipped (%s): %s",
                      job->segment.manifest_id.c_str(), seq, o.census.c_str(), o.error.c_str());
    // One message per segment, in order, for applications (lpnode logs it and counts the
    // skipped ones by error-code, go-livepeer's metric code).
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(
            GST_OBJECT(self),
            gst_structure_new(
                "lp-segment", "seq", G_TYPE_INT64, seq, "ok", G_TYPE_BOOLEAN, o.ok, "orchestrator",
                G_TYPE_STRING, o.ok ? lp::to_checksum(o.orchestrator).c_str() : "", "target",
                G_TYPE_STRING, o.orchestrator_target.c_str(), "seconds", G_TYPE_DOUBLE, o.seconds,
                "attempts", G_TYPE_INT, o.attempts, "error", G_TYPE_STRING, o.error.c_str(),
                "error-code", G_TYPE_STRING, o.ok ? "" : o.census.c_str(), "reason-code",
                G_TYPE_STRING, o.error_code.c_str(), "price-per-pixel", G_TYPE_STRING,
                o.price_per_pixel.c_str(), nullptr)));
    GstFlowReturn ret = GST_FLOW_OK;
    if (o.ok)
      ret = gst_pad_push_list(self->srcpad, list);  // lpverify answers inside this push
    else
      push_skipped(self, seq, o);
    lock.lock();
    p->pushing = false;
    if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING) p->last_flow = ret;
    if (p->sequencer.refusals(seq) == next->refusals)
      ++(o.ok ? p->segments_done : p->segments_skipped);
    p->sequencer.released(seq, next->refusals);  // nothing happens when it was refused
    p->cv.notify_all();
  }
}

// The transcoder's own lines, as the element's warnings (a named function, so that the log names
// it rather than a lambda's operator()).
static void log_transcoder_line(LpRemoteTranscode* self, const std::string& line) {
  GST_WARNING_OBJECT(self, "%s", line.c_str());
}

static bool ensure_started(LpRemoteTranscode* self) {
  LpRemoteTranscodePriv* p = self->priv;
  Settings s;
  {
    std::lock_guard lock(p->settings_lock);
    s = p->settings;
  }
  auto ladder = lp::media::parse_profiles(s.profiles);
  if (!ladder) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("profiles: %s", ladder.error().message.c_str()),
                      (nullptr));
    return false;
  }
  lp::gw::RemoteConfig config;
  std::vector<lp::ledger::OrchestratorEntry> registry;
  if (!s.ledger.empty()) {
    auto ledger = lp::ledger::open_settlement(s.ledger);
    auto entries = ledger ? (*ledger)->orchestrators()
                          : lp::Result<std::vector<lp::ledger::OrchestratorEntry>>(ledger.error());
    if (!entries) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                        ("ledger %s: %s", s.ledger.c_str(), entries.error().message.c_str()),
                        (nullptr));
      return false;
    }
    registry = std::move(*entries);
  }
  config.orchestrators = lp::gw::orchestrator_targets(s.orchestrators, registry);
  if (config.orchestrators.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("lpremote-transcode needs orchestrators (host:port, comma-separated, or a "
                       "ledger whose registry "
                       "has active ones)"),
                      (nullptr));
    return false;
  }
  config.ladder = *ladder;
  config.attempts = static_cast<int>(s.attempts);
  config.suspend_for = std::chrono::seconds(s.suspend_seconds);
  config.timeout_multiplier = s.timeout_multiplier;
  auto payer = std::make_unique<QueryPayer>(self->sinkpad);
  const bool has_wallet = static_cast<bool>(payer->address());
  if (!has_wallet)
    GST_INFO_OBJECT(self, "no lpticketpay upstream: segments are sent without payment");
  auto rt = std::make_unique<lp::gw::RemoteTranscoder>(config, has_wallet ? payer.get() : nullptr);
  rt->set_logger([self](const std::string& line) { log_transcoder_line(self, line); });
  const std::size_t usable = rt->discover();
  if (usable == 0) {
    std::string why;
    for (const auto& st : rt->state()) why += "\n  " + st.target + ": " + st.last_error;
    GST_ELEMENT_ERROR_WITH_DETAILS(self, RESOURCE, NOT_FOUND, ("no orchestrator answered"),
                                   ("%s", why.c_str()),
                                   ("error-code", G_TYPE_STRING, "NoOrchestrators", nullptr));
    return false;
  }
  const std::size_t max_in_flight = std::max(1u, s.max_in_flight);
  std::lock_guard lock(p->lock);
  p->ladder = *ladder;
  p->payer = std::move(payer);
  p->rt = std::move(rt);
  p->started = true;
  p->stopping = false;
  p->pool = std::make_unique<lp::WorkerPool>(max_in_flight);
  p->output = std::thread(output_loop, self);
  return true;
}

/// Ends every segment's work at once: requests in flight are cancelled (a stop or a flush never
/// waits for the network); the workers then finish their tasks quickly.
static void cancel_work(LpRemoteTranscodePriv* p) {
  std::lock_guard lock(p->lock);
  if (p->rt) p->rt->cancel_all();
  p->cv.notify_all();
}

static void stop_all(LpRemoteTranscode* self) {
  LpRemoteTranscodePriv* p = self->priv;
  std::unique_ptr<lp::WorkerPool> pool;
  {
    std::lock_guard lock(p->lock);
    p->stopping = true;
    if (p->rt) p->rt->cancel_all();
    pool = std::move(p->pool);
  }
  p->cv.notify_all();
  if (pool) pool->stop();  // the tasks end at once: their requests are cancelled
  if (p->output.joinable()) p->output.join();
  std::lock_guard lock(p->lock);
  p->sequencer.clear();
  if (p->rt) {  // the stats stay readable after a stop
    p->last_state = p->rt->state();
    p->last_counters = p->rt->http_counters();
  }
  p->rt.reset();
  p->payer.reset();
  p->started = false;
  p->in_flight = 0;
  p->last_flow = GST_FLOW_OK;
}

static GstFlowReturn lp_remote_transcode_chain(GstPad*, GstObject* parent,
                                               GstBuffer* buffer) noexcept {
  auto* self = LP_REMOTE_TRANSCODE(parent);
  LpRemoteTranscodePriv* p = self->priv;
  lp::gst::BufferPtr buf(buffer);
  const LpSegmentMeta* meta = lp_buffer_get_segment_meta(buffer);
  if (!meta) {
    GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE,
                      ("lpremote-transcode takes whole segments from lpsegmenter"),
                      ("a buffer without an LpSegmentMeta"));
    return GST_FLOW_ERROR;
  }
  if (!p->started && !ensure_started(self)) return GST_FLOW_ERROR;
  guint max_in_flight;
  {
    std::lock_guard lock(p->settings_lock);
    max_in_flight = std::max(1u, p->settings.max_in_flight);
  }
  {
    std::unique_lock lock(p->lock);
    p->cv.wait(lock, [&] {
      return p->flushing || p->stopping || p->in_flight < static_cast<int>(max_in_flight);
    });
    if (p->flushing || p->stopping) return GST_FLOW_FLUSHING;
    if (p->last_flow != GST_FLOW_OK) return p->last_flow;
    ++p->in_flight;
  }
  auto job = std::make_shared<Job>();
  job->segment.manifest_id = meta->stream_id ? meta->stream_id : "stream";
  job->segment.seq = static_cast<std::int64_t>(meta->seq);
  job->segment.duration_seconds = GST_CLOCK_TIME_IS_VALID(meta->duration)
                                      ? static_cast<double>(meta->duration) / GST_SECOND
                                      : 2.0;
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    job->segment.bytes.assign(reinterpret_cast<const char*>(map.data), map.size);
    gst_buffer_unmap(buffer, &map);
  }
  job->source = std::move(buf);
  // In segment order: the orchestrator's upload line.
  const lp::gw::Placement placement = p->rt->place();
  std::lock_guard lock(p->lock);
  if (!p->sequencer.accept(job->segment.seq, job)) {
    --p->in_flight;
    GST_WARNING_OBJECT(self, "segment %" G_GINT64_FORMAT " again: dropped", job->segment.seq);
    return GST_FLOW_OK;
  }
  p->pool->post([self, job, placement] { run_job(self, job, placement, {}); });
  return GST_FLOW_OK;
}

/// Waits until every segment taken in has been pushed.
static void drain(LpRemoteTranscode* self) {
  LpRemoteTranscodePriv* p = self->priv;
  std::unique_lock lock(p->lock);
  p->cv.wait(lock, [&] {
    return p->stopping || p->flushing || (p->in_flight == 0 && p->sequencer.idle() && !p->pushing);
  });
}

static gboolean lp_remote_transcode_sink_event(GstPad* pad, GstObject* parent,
                                               GstEvent* event) noexcept {
  auto* self = LP_REMOTE_TRANSCODE(parent);
  LpRemoteTranscodePriv* p = self->priv;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      gst_event_unref(event);
      GstCaps* caps = gst_static_pad_template_get_caps(&src_template);
      GstCaps* fixed = gst_caps_fixate(caps);
      const gboolean ok = gst_pad_push_event(self->srcpad, gst_event_new_caps(fixed));
      gst_caps_unref(fixed);
      return ok;
    }
    case GST_EVENT_EOS:
      drain(self);
      return gst_pad_event_default(pad, parent, event);
    case GST_EVENT_FLUSH_START: {
      {
        std::lock_guard lock(p->lock);
        p->flushing = true;
      }
      cancel_work(p);
      break;
    }
    case GST_EVENT_FLUSH_STOP: {
      // The cancelled segments end at once; what was in line is forgotten.
      std::unique_lock lock(p->lock);
      p->cv.wait(lock, [&] { return p->in_flight == 0 && !p->pushing; });
      p->sequencer.clear();
      if (p->rt) p->rt->resume();
      p->flushing = false;
      p->last_flow = GST_FLOW_OK;
      break;
    }
    default:
      break;
  }
  return gst_pad_event_default(pad, parent, event);
}

/// lpverify's verdict on a pushed segment (inside the push, or later with a queue between): the
/// orchestrator is suspended and the sequencer decides: again elsewhere, or given up.
static void on_refused(LpRemoteTranscode* self, const GstStructure* s) {
  LpRemoteTranscodePriv* p = self->priv;
  guint64 seq = 0;
  gst_structure_get_uint64(s, "seq", &seq);
  const char* orch = gst_structure_get_string(s, "orchestrator");
  const char* reason = gst_structure_get_string(s, "reason");
  const char* code = gst_structure_get_string(s, "reason-code");
  const std::string why = std::string("verification failed: ") + (reason ? reason : "");
  std::lock_guard lock(p->lock);
  if (!p->rt) return;
  auto addr = lp::parse_address(orch ? orch : "");
  const int bad = addr ? p->rt->suspend(*addr, why) : -1;
  std::shared_ptr<Job>* item = p->sequencer.item(static_cast<std::int64_t>(seq));
  const auto verdict = p->sequencer.refuse(static_cast<std::int64_t>(seq));
  if (verdict == lp::gw::SegmentSequencer<std::shared_ptr<Job>>::Verdict::unknown || !item) {
    GST_WARNING_OBJECT(self, "verdict on segment %" G_GUINT64_FORMAT " came too late: %s", seq,
                       why.c_str());
    return;
  }
  std::shared_ptr<Job> job = *item;
  GST_WARNING_OBJECT(self, "segment %" G_GUINT64_FORMAT " from %s failed verification (%s, %s): %s",
                     seq, orch ? orch : "?", code ? code : "?", reason ? reason : "",
                     verdict == lp::gw::SegmentSequencer<std::shared_ptr<Job>>::Verdict::redo
                         ? "redoing it elsewhere"
                         : "giving up");
  if (verdict == lp::gw::SegmentSequencer<std::shared_ptr<Job>>::Verdict::give_up) {
    lp::gw::RemoteOutcome failed;
    failed.seq = job->segment.seq;
    failed.attempts = job->outcome ? job->outcome->attempts : 0;
    failed.error = why + " (" + std::to_string(p->sequencer.refusals(failed.seq)) + " times)";
    failed.error_code = std::string("verification_") + (code ? code : "failed");
    failed.census = "Verification";
    job->outcome = std::move(failed);
  } else {
    ++p->in_flight;
    std::set<int> exclude;
    if (bad >= 0) exclude.insert(bad);
    // Placed by the worker: a redo goes wherever it can, not in the upload line's order.
    p->pool->post([self, job, exclude] { run_job(self, job, lp::gw::Placement{}, exclude); });
  }
  p->cv.notify_all();
}

static gboolean lp_remote_transcode_src_event(GstPad* pad, GstObject* parent,
                                              GstEvent* event) noexcept {
  auto* self = LP_REMOTE_TRANSCODE(parent);
  if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_UPSTREAM &&
      lp::gw::is_custom_event(event, lp::gw::kVerifyFailedEvent)) {
    on_refused(self, gst_event_get_structure(event));
    gst_event_unref(event);
    return TRUE;
  }
  return gst_pad_event_default(pad, parent, event);
}

static GstStateChangeReturn lp_remote_transcode_change_state(GstElement* element,
                                                             GstStateChange transition) noexcept {
  auto* self = LP_REMOTE_TRANSCODE(element);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    {
      std::lock_guard lock(self->priv->lock);
      self->priv->flushing = true;
    }
    cancel_work(self->priv);
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(lp_remote_transcode_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    stop_all(self);
    std::lock_guard lock(self->priv->lock);
    self->priv->flushing = false;
  }
  return ret;
}

static void lp_remote_transcode_finalize(GObject* object) {
  auto* self = LP_REMOTE_TRANSCODE(object);
  stop_all(self);
  delete self->priv;
  G_OBJECT_CLASS(lp_remote_transcode_parent_class)->finalize(object);
}

static void lp_remote_transcode_set_property(GObject* object, guint id, const GValue* value,
                                             GParamSpec* pspec) {
  auto* self = LP_REMOTE_TRANSCODE(object);
  std::lock_guard lock(self->priv->settings_lock);
  Settings& s = self->priv->settings;
  switch (id) {
    case PROP_ORCHESTRATORS:
      s.orchestrators = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_LEDGER:
      s.ledger = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_PROFILES:
      s.profiles = g_value_get_string(value) ? g_value_get_string(value) : DEFAULT_PROFILES;
      break;
    case PROP_ATTEMPTS:
      s.attempts = g_value_get_uint(value);
      break;
    case PROP_MAX_IN_FLIGHT:
      s.max_in_flight = g_value_get_uint(value);
      break;
    case PROP_SUSPEND_SECONDS:
      s.suspend_seconds = g_value_get_uint(value);
      break;
    case PROP_TIMEOUT_MULTIPLIER:
      s.timeout_multiplier = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

/// The stats property: segments done and skipped, and each orchestrator's state.
static GstStructure* make_stats(LpRemoteTranscode* self) {
  LpRemoteTranscodePriv* p = self->priv;
  std::lock_guard lock(p->lock);
  const lp::net::SegmentClient::Counters c = p->rt ? p->rt->http_counters() : p->last_counters;
  GstStructure* st =
      gst_structure_new("lpremote-transcode-stats", "segments", G_TYPE_UINT64, p->segments_done,
                        "skipped", G_TYPE_UINT64, p->segments_skipped, "https-connections",
                        G_TYPE_UINT64, static_cast<guint64>(c.connections), "tls-handshakes",
                        G_TYPE_UINT64, static_cast<guint64>(c.tls_handshakes), "https-requests",
                        G_TYPE_UINT64, static_cast<guint64>(c.requests), nullptr);
  GValue list = G_VALUE_INIT;
  gst_value_array_init(&list, 0);
  for (const auto& o : p->rt ? p->rt->state() : p->last_state) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    GstStructure* os = gst_structure_new(
        "orchestrator", "target", G_TYPE_STRING, o.target.c_str(), "transcoder", G_TYPE_STRING,
        o.transcoder.c_str(), "address", G_TYPE_STRING, o.address.c_str(), "price-per-pixel",
        G_TYPE_STRING, o.price_per_pixel.c_str(), "latency-ms", G_TYPE_DOUBLE, o.latency_ms,
        "successes", G_TYPE_UINT64, static_cast<guint64>(o.successes), "failures", G_TYPE_UINT64,
        static_cast<guint64>(o.failures), "suspended", G_TYPE_BOOLEAN, o.suspended, "last-error",
        G_TYPE_STRING, o.last_error.c_str(), nullptr);
    gst_value_set_structure(&v, os);
    gst_structure_free(os);
    gst_value_array_append_and_take_value(&list, &v);
  }
  gst_structure_take_value(st, "orchestrators", &list);
  return st;
}

static void lp_remote_transcode_get_property(GObject* object, guint id, GValue* value,
                                             GParamSpec* pspec) {
  auto* self = LP_REMOTE_TRANSCODE(object);
  if (id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(self));
    return;
  }
  std::lock_guard lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  switch (id) {
    case PROP_ORCHESTRATORS:
      g_value_set_string(value, s.orchestrators.c_str());
      break;
    case PROP_LEDGER:
      g_value_set_string(value, s.ledger.c_str());
      break;
    case PROP_PROFILES:
      g_value_set_string(value, s.profiles.c_str());
      break;
    case PROP_ATTEMPTS:
      g_value_set_uint(value, s.attempts);
      break;
    case PROP_MAX_IN_FLIGHT:
      g_value_set_uint(value, s.max_in_flight);
      break;
    case PROP_SUSPEND_SECONDS:
      g_value_set_uint(value, s.suspend_seconds);
      break;
    case PROP_TIMEOUT_MULTIPLIER:
      g_value_set_double(value, s.timeout_multiplier);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void lp_remote_transcode_class_init(LpRemoteTranscodeClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->finalize = lp_remote_transcode_finalize;
  gobject_class->set_property = lp_remote_transcode_set_property;
  gobject_class->get_property = lp_remote_transcode_get_property;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_ORCHESTRATORS,
      g_param_spec_string("orchestrators", "Orchestrators",
                          "Orchestrators' service addresses (gRPC), host:port, comma-separated",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_LEDGER,
      g_param_spec_string("ledger", "Ledger",
                          "The settlement (a local ledger file: a path, file:PATH or "
                          "sqlite:PATH) whose orchestrator registry adds its active "
                          "orchestrators to the list",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Segments done and skipped, and per orchestrator: target, address, price, "
                         "latency, successes, "
                         "failures, suspended, last error",
                         GST_TYPE_STRUCTURE,
                         static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_PROFILES,
      g_param_spec_string("profiles", "Profiles",
                          "The ladder: go-livepeer preset names (comma-separated), a ladder JSON "
                          "text, or a path to one",
                          DEFAULT_PROFILES, rw));
  g_object_class_install_property(
      gobject_class, PROP_ATTEMPTS,
      g_param_spec_uint("attempts", "Attempts",
                        "Orchestrators tried per segment before it is skipped (-maxAttempts)", 1,
                        10, 3, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_IN_FLIGHT,
      g_param_spec_uint("max-in-flight", "Max in flight", "Segments submitted at the same time", 1,
                        32, 3, rw));
  g_object_class_install_property(
      gobject_class, PROP_SUSPEND_SECONDS,
      g_param_spec_uint(
          "suspend-seconds", "Suspend seconds",
          "How long an orchestrator that failed is left out (doubling while it keeps failing)", 1,
          3600, 30, rw));
  g_object_class_install_property(
      gobject_class, PROP_TIMEOUT_MULTIPLIER,
      g_param_spec_double("timeout-multiplier", "Timeout multiplier",
                          "Multiplies the segment deadlines (the upload's 200 within max(2 s, "
                          "segment/2), the result within max(8 s, 4 x segment)), as "
                          "go-livepeer's timeoutMultiplier",
                          0.1, 100.0, 1.0, rw));
  gst_element_class_set_static_metadata(
      element_class, "Livepeer remote transcoder", "Filter/Network/Video",
      "Has segments transcoded by Livepeer orchestrators, paid with tickets", "livepeer-gst");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  element_class->change_state = lp_remote_transcode_change_state;
  GST_DEBUG_CATEGORY_INIT(lp_remote_transcode_debug, "lpremote-transcode", 0,
                          "Livepeer remote transcoder");
}

static void lp_remote_transcode_init(LpRemoteTranscode* self) {
  self->priv = new LpRemoteTranscodePriv();
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, lp_remote_transcode_chain);
  gst_pad_set_event_function(self->sinkpad, lp_remote_transcode_sink_event);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_event_function(self->srcpad, lp_remote_transcode_src_event);
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
