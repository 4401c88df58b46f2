// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/transcode/transcode_engine.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#ifndef GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY
#define GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY "memory:CUDAMemory"
#endif

#include <algorithm>
#include <cstring>

namespace lp::media {

namespace {

bool registered(const char* factory) {
  gst::ObjectPtr<GstElementFactory> f(gst_element_factory_find(factory));
  return f != nullptr;
}

const char* x264_profile_caps(H264Profile p) {
  switch (p) {
    case H264Profile::baseline:
      return "constrained-baseline";
    case H264Profile::main:
      return "main";
    case H264Profile::high:
    case H264Profile::constrained_high:
      return "high";
    case H264Profile::encoder_default:
      break;
  }
  return nullptr;
}

// Sets a property when the element's version has it (nvcodec's properties vary by release).
template <class T>
void set_if(GstElement* e, const char* name, T value) {
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), name))
    g_object_set(e, name, value, nullptr);
}

GstElement* make(const char* factory, std::string* error) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e) *error = std::string("element '") + factory + "' is not installed";
  return e;
}

}  // namespace

TranscodeEngine::TranscodeEngine(Options options) : options_(std::move(options)) {}

TranscodeEngine::~TranscodeEngine() { teardown(); }

void TranscodeEngine::teardown() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  if (feed_) gst_pad_set_active(feed_.get(), FALSE);
  feed_.reset();
  pipeline_.reset();
  branches_.clear();
  built_for_.reset();
}

namespace {
constexpr const char* kDrainPrefix = "lptranscode-drain/";
}

struct TranscodeEngine::ProbeContext {
  TranscodeEngine* engine;
  std::size_t branch;
};

// At the encoder's sink, in the branch's streaming thread. The encoder has no frame delay, so
// when a segment's drain marker arrives, every frame of that segment has gone through it into
// the appsink and none of the next segment's has: they are taken out here, for that segment.
GstPadProbeReturn TranscodeEngine::on_sink_event(GstPad*, GstPadProbeInfo* info, gpointer data) {
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) != GST_EVENT_STREAM_START) return GST_PAD_PROBE_OK;
  const gchar* sid = nullptr;
  gst_event_parse_stream_start(ev, &sid);
  // Only our drain markers count: the pipeline's first STREAM_START may reach an encoder late,
  // after the first segment's frames, and must not be taken for the end of a segment.
  if (!sid || !g_str_has_prefix(sid, kDrainPrefix)) return GST_PAD_PROBE_OK;
  const unsigned n =
      static_cast<unsigned>(g_ascii_strtoull(sid + strlen(kDrainPrefix), nullptr, 10));
  auto* ctx = static_cast<ProbeContext*>(data);
  TranscodeEngine* self = ctx->engine;
  std::vector<gst::BufferPtr> frames;
  gst::CapsPtr caps;
  GstElement* sink = self->branches_[ctx->branch].sink;
  while (gst::SamplePtr smp{gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0)}) {
    if (gst_sample_get_caps(smp.get())) caps.reset(gst_caps_ref(gst_sample_get_caps(smp.get())));
    frames.emplace_back(gst_buffer_ref(gst_sample_get_buffer(smp.get())));
  }
  if (!caps) {
    gst::ObjectPtr<GstPad> pad(gst_element_get_static_pad(sink, "sink"));
    caps.reset(gst_pad_get_current_caps(pad.get()));
  }
  std::lock_guard lock(self->mu_);
  for (Pending& p : self->pending_) {
    if (p.marker != n) continue;
    p.frames[ctx->branch] = std::move(frames);
    p.caps[ctx->branch] = std::move(caps);
    ++p.done;
    break;  // markers are unique: one segment per marker
  }
  self->drained_cv_.notify_all();
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn TranscodeEngine::on_decimate(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* b = static_cast<Branch*>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
    // Keep a frame when it reaches the next output time (within a quarter of the output frame
    // period, so that an exact 2:1 ratio does not hinge on nanosecond rounding); output times
    // advance by one period from the first frame.
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    const GstClockTime period = gst_util_uint64_scale(GST_SECOND, static_cast<guint64>(b->fps_den),
                                                      static_cast<guint64>(b->fps_num));
    if (b->have_due && pts + period / 4 < b->next_due) return GST_PAD_PROBE_DROP;
    // After a gap in the input, the grid starts again at this frame.
    b->next_due =
        b->have_due && b->next_due + period / 4 > pts ? b->next_due + period : pts + period;
    b->have_due = true;
    return GST_PAD_PROBE_OK;
  }
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  GstCaps* caps = nullptr;
  gst_event_parse_caps(ev, &caps);
  GstCaps* out = gst_caps_copy(caps);
  gst_caps_set_simple(out, "framerate", GST_TYPE_FRACTION, b->fps_num, b->fps_den, nullptr);
  info->data = gst_event_new_caps(out);
  gst_caps_unref(out);
  gst_event_unref(ev);
  return GST_PAD_PROBE_OK;
}

bool TranscodeEngine::build(GstCaps* video_caps, std::string* error) {
  teardown();
  GstStructure* s = gst_caps_get_structure(video_caps, 0);
  int src_w = 0, src_h = 0, src_fps_n = 0, src_fps_d = 1;
  gst_structure_get_int(s, "width", &src_w);
  gst_structure_get_int(s, "height", &src_h);
  gst_structure_get_fraction(s, "framerate", &src_fps_n, &src_fps_d);

  const bool gpu_decode = options_.gpu != GpuMode::off && registered("nvh264dec");
  if (options_.gpu == GpuMode::on && !gpu_decode) {
    *error = "gpu=on but nvh264dec is not registered (no NVIDIA GPU, driver or gst nvcodec plugin)";
    return false;
  }
  // H100/H200 have NVDEC but no NVENC: the encoder is picked on its own.
  const bool gpu_encode = options_.gpu != GpuMode::off && registered("nvh264enc");
  decoder_ = gpu_decode ? "nvh264dec" : "avdec_h264";
  encoder_ = gpu_encode ? "nvh264enc" : "x264enc";
  // After NVDEC the frames stay in CUDA memory for scaling (cudascale, GStreamer >= 1.20
  // nvcodec) and are downloaded only for a CPU encoder.
  const bool cuda_scale =
      gpu_decode && registered("cudascale") && (gpu_encode || registered("cudadownload"));
  scaler_ = cuda_scale ? "cudascale" : "videoscale";

  pipeline_.reset(gst_pipeline_new("lptranscode-internal"));
  GstBin* bin = GST_BIN(pipeline_.get());
  GstElement* dec = make(decoder_.c_str(), error);
  GstElement* tee = make("tee", error);
  if (!dec || !tee) return false;
  gst_bin_add_many(bin, dec, tee, nullptr);
  if (!gst_element_link(dec, tee)) {
    *error = "cannot link the decoder";
    return false;
  }
  branches_.reserve(options_.profiles.size());  // the probes keep pointers to branches
  for (const VideoProfile& p : options_.profiles) {
    auto [w, h] = output_size(p, src_w, src_h);
    // Frame rate: passthrough when the profile says 0, when the source's rate is unknown, or
    // when the source is not faster than the profile; otherwise frames are dropped onto the
    // profile's grid (frames are never invented).
    // A source within 5% of the profile's rate (29.97 for 30, or a rate guessed from jittery
    // timestamps) is not reduced: that would drop a frame every few seconds.
    const bool decimate = p.fps > 0 && src_fps_n > 0 && src_fps_d > 0 &&
                          static_cast<double>(src_fps_n) / src_fps_d >
                              1.05 * static_cast<double>(p.fps) / std::max(1, p.fps_den);
    GstElement* queue = make("queue", error);
    GstElement* scale = make(scaler_.c_str(), error);
    GstElement* raw = make("capsfilter", error);
    // CPU: videoscale ! videoconvert ! capsfilter(size). CUDA: cudascale ! capsfilter(size, in
    // CUDA memory) ! cudadownload for x264enc, or straight into nvh264enc (identity).
    GstElement* convert = make(!cuda_scale  ? "videoconvert"
                               : gpu_encode ? "identity"
                                            : "cudadownload",
                               error);
    GstElement* enc = make(encoder_.c_str(), error);
    GstElement* h264 = make("capsfilter", error);
    GstElement* sink = make("appsink", error);
    if (!queue || !scale || !convert || !raw || !enc || !h264 || !sink) return false;
    g_object_set(queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 static_cast<guint64>(0), nullptr);
    gst::CapsPtr raw_caps(gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, w, "height",
                                              G_TYPE_INT, h, "pixel-aspect-ratio",
                                              GST_TYPE_FRACTION, 1, 1, nullptr));
    if (cuda_scale)
      gst_caps_set_features(raw_caps.get(), 0,
                            gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY, nullptr));
    g_object_set(raw, "caps", raw_caps.get(), nullptr);
    if (encoder_ == "x264enc") {
      // Bitrate as lpms sets it. No B-frames for any profile (lpms uses 3 for main/high) and
      // no frame delay: a segment's last frame must leave the encoder with the segment, and
      // DTS = PTS (see restamp). docs/media.md records this difference.
      gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", options_.x264_preset.c_str());
      gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
      g_object_set(enc, "bitrate", static_cast<guint>(std::max(1, p.bitrate / 1000)), "bframes", 0u,
                   nullptr);
      if (p.gop_ms > 0) {
        const double fps = decimate        ? static_cast<double>(p.fps) / std::max(1, p.fps_den)
                           : src_fps_n > 0 ? static_cast<double>(src_fps_n) / std::max(1, src_fps_d)
                                           : 30.0;
        g_object_set(enc, "key-int-max", static_cast<guint>(std::max(1.0, p.gop_ms * fps / 1000.0)),
                     nullptr);
      } else if (p.gop_ms < 0) {
        g_object_set(enc, "key-int-max", 1u, nullptr);
      }
    } else {
      // nvh264enc: the same rules where its version has the property (set_if).
      set_if(enc, "bitrate", static_cast<guint>(std::max(1, p.bitrate / 1000)));
      set_if(enc, "bframes", 0u);
      set_if(enc, "zerolatency", TRUE);
      if (p.gop_ms != 0) {
        const double fps =
            src_fps_n > 0 ? static_cast<double>(src_fps_n) / std::max(1, src_fps_d) : 30.0;
        set_if(enc, "gop-size",
               p.gop_ms < 0 ? 1 : static_cast<int>(std::max(1.0, p.gop_ms * fps / 1000.0)));
      }
    }
    gst::CapsPtr out_caps(
        gst_caps_from_string("video/x-h264, stream-format=byte-stream, alignment=au"));
    if (const char* prof = x264_profile_caps(p.profile))
      gst_caps_set_simple(out_caps.get(), "profile", G_TYPE_STRING, prof, nullptr);
    g_object_set(h264, "caps", out_caps.get(), nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, "wait-on-eos", FALSE, "max-buffers", 0u,
                 nullptr);
    gst_bin_add_many(bin, queue, scale, convert, raw, enc, h264, sink, nullptr);
    const bool linked =
        cuda_scale
            ? gst_element_link_many(tee, queue, scale, raw, convert, enc, h264, sink, nullptr)
            : gst_element_link_many(tee, queue, scale, convert, raw, enc, h264, sink, nullptr);
    if (!linked) {
      *error = "cannot link the branch for profile " + p.name;
      return false;
    }
    // The segment's closing STREAM_START reaches the encoder after the segment's last frame;
    // the encoder has no frame delay (zerolatency), so that frame is already in the appsink.
    gst::ObjectPtr<GstPad> encsink(gst_element_get_static_pad(enc, "sink"));
    gst_pad_add_probe(encsink.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_sink_event,
                      new ProbeContext{this, branches_.size()},
                      [](gpointer c) { delete static_cast<ProbeContext*>(c); });
    Branch& branch = branches_.emplace_back();
    branch.sink = sink;
    branch.encoder = enc;
    branch.width = w;
    branch.height = h;
    if (decimate) {
      branch.fps_num = p.fps;
      branch.fps_den = std::max(1, p.fps_den);
      gst::ObjectPtr<GstPad> scalesink(gst_element_get_static_pad(scale, "sink"));
      gst_pad_add_probe(scalesink.get(),
                        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                     GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                        on_decimate, &branch, nullptr);
    }
  }
  // Our own source pad feeds the decoder from the calling thread, so that pushing a segment
  // and draining it are synchronous with transcode().
  feed_.reset(GST_PAD(gst_object_ref_sink(gst_pad_new("feed", GST_PAD_SRC))));
  gst_pad_set_active(feed_.get(), TRUE);
  gst::ObjectPtr<GstPad> decsink(gst_element_get_static_pad(dec, "sink"));
  if (gst_pad_link_full(feed_.get(), decsink.get(), GST_PAD_LINK_CHECK_NOTHING) !=
      GST_PAD_LINK_OK) {
    *error = "cannot link the decoder's input";
    return false;
  }
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "the transcoding pipeline failed to start";
    return false;
  }
  gchar* sid = gst_pad_create_stream_id(feed_.get(), GST_ELEMENT(pipeline_.get()), "video");
  gst_pad_push_event(feed_.get(), gst_event_new_stream_start(sid));
  g_free(sid);
  gst_pad_push_event(feed_.get(), gst_event_new_caps(video_caps));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  gst_pad_push_event(feed_.get(), gst_event_new_segment(&seg));
  built_for_.reset(gst_caps_ref(video_caps));
  ++builds_;
  return true;
}

std::optional<std::string> TranscodeEngine::bus_error() {
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  gst::MessagePtr m{gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)};
  if (!m) return std::nullopt;
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(m.get(), &err, &debug);
  std::string text = std::string("transcoding failed in ") +
                     GST_OBJECT_NAME(GST_MESSAGE_SRC(m.get())) + ": " +
                     (err ? err->message : "unknown error");
  g_clear_error(&err);
  g_free(debug);
  return text;
}

bool TranscodeEngine::wait_until(const std::function<bool()>& ready, std::string* error) {
  const gint64 deadline = g_get_monotonic_time() + 120 * G_TIME_SPAN_SECOND;  // safety net only
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (drained_cv_.wait_for(lock, std::chrono::milliseconds(20), ready)) return true;
    }
    if (auto e = bus_error()) {
      *error = *e;
      return false;
    }
    if (g_get_monotonic_time() > deadline) {
      *error = "transcoding a segment did not finish within 120 s";
      return false;
    }
  }
}

// The encoder may move its output in time (GstVideoEncoder offsets streams by 1000 hours when
// it must keep DTS from going negative). Put the rendition back on the source's clock: its
// first frame is the source segment's first frame (the first frame is never dropped). Without
// B-frames, decode order is presentation order, so DTS = PTS.
void TranscodeEngine::restamp(std::vector<gst::BufferPtr>* frames, GstClockTime first_in) {
  if (!GST_CLOCK_TIME_IS_VALID(first_in) || !GST_BUFFER_PTS_IS_VALID(frames->front().get())) return;
  const GstClockTimeDiff shift = GST_CLOCK_DIFF(GST_BUFFER_PTS(frames->front().get()), first_in);
  for (auto& f : *frames) {
    GstBuffer* w = gst_buffer_make_writable(f.release());
    if (GST_BUFFER_PTS_IS_VALID(w)) {
      const GstClockTimeDiff v = static_cast<GstClockTimeDiff>(GST_BUFFER_PTS(w)) + shift;
      GST_BUFFER_PTS(w) = v < 0 ? 0 : static_cast<GstClockTime>(v);
    }
    GST_BUFFER_DTS(w) = GST_BUFFER_PTS(w);
    f.reset(w);
  }
}

// A stream without a frame rate in its SPS (VUI timing absent) gives raw caps with 0/1, and
// x264enc then encodes in VFR mode, where each frame waits for the next one's timestamp: a
// segment's last frame would stay in the encoder. The rate is guessed once from the first
// segment's frame spacing and kept, so that the caps (and the encoders) do not change.
void TranscodeEngine::with_frame_rate(DemuxedSegment* d) {
  GstStructure* s = gst_caps_get_structure(d->video_caps.get(), 0);
  int n = 0, den = 1;
  if (gst_structure_get_fraction(s, "framerate", &n, &den) && n > 0) return;
  if (guessed_fps_n_ == 0) {
    std::vector<GstClockTime> pts;
    for (const auto& b : d->video)
      if (GST_BUFFER_PTS_IS_VALID(b.get())) pts.push_back(GST_BUFFER_PTS(b.get()));
    std::sort(pts.begin(), pts.end());
    std::vector<GstClockTime> gaps;
    for (std::size_t i = 1; i < pts.size(); ++i)
      if (pts[i] > pts[i - 1]) gaps.push_back(pts[i] - pts[i - 1]);
    if (gaps.empty()) return;
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2),
                     gaps.end());
    if (!gst_video_guess_framerate(gaps[gaps.size() / 2], &guessed_fps_n_, &guessed_fps_d_)) {
      guessed_fps_n_ = 0;
      return;
    }
  }
  GstCaps* c = gst_caps_copy(d->video_caps.get());
  gst_caps_set_simple(c, "framerate", GST_TYPE_FRACTION, guessed_fps_n_, guessed_fps_d_, nullptr);
  d->video_caps.reset(c);
}

bool TranscodeEngine::all_done() const {
  for (const Pending& p : pending_)
    if (p.done < p.frames.size()) return false;
  return true;
}

std::size_t TranscodeEngine::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

void TranscodeEngine::reset() {
  teardown();
  std::lock_guard lock(mu_);
  pending_.clear();
}

bool TranscodeEngine::submit(GstBuffer* segment, std::string* error) {
  DemuxedSegment d;
  if (!demuxer_.demux(segment, &d, error)) return false;
  with_frame_rate(&d);
  GstStructure* s = gst_caps_get_structure(d.video_caps.get(), 0);
  int w = 0, h = 0, bw = -1, bh = -1;
  gst_structure_get_int(s, "width", &w);
  gst_structure_get_int(s, "height", &h);
  if (built_for_) {
    GstStructure* b = gst_caps_get_structure(built_for_.get(), 0);
    gst_structure_get_int(b, "width", &bw);
    gst_structure_get_int(b, "height", &bh);
  }
  if (!pipeline_ || w != bw || h != bh) {
    // A new size needs new branches: segments in flight finish in the old pipeline first
    // (their frames are kept with them), then it is replaced.
    if (pipeline_ && !wait_until([this] { return all_done(); }, error)) {
      reset();
      return false;
    }
    if (!build(d.video_caps.get(), error)) {
      reset();
      return false;
    }
  } else if (!gst_caps_is_equal(built_for_.get(), d.video_caps.get())) {
    gst_pad_push_event(feed_.get(), gst_event_new_caps(d.video_caps.get()));
    built_for_.reset(gst_caps_ref(d.video_caps.get()));
  }
  Pending p;
  p.marker = ++segments_;
  p.frames.resize(branches_.size());
  p.caps.resize(branches_.size());
  for (const Branch& b : branches_) p.sizes.emplace_back(b.width, b.height);
  for (const auto& b : d.video)
    if (GST_BUFFER_PTS_IS_VALID(b.get()))
      p.first_in = std::min(p.first_in, GST_BUFFER_PTS(b.get()));
  p.audio_caps = std::move(d.audio_caps);
  p.audio = std::move(d.audio);
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(p));
  }
  // Every rendition segment starts with an IDR. The request carries no running time, so it
  // applies to the next frame the encoder sees: this segment's first. (x264enc moves its
  // running time by 1000 hours for negative DTS, and GstVideoEncoder then ignores requests
  // for earlier running times.)
  gst_pad_push_event(feed_.get(), gst_video_event_new_downstream_force_key_unit(
                                      GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                                      TRUE, segments_));
  for (const auto& b : d.video) {
    const GstFlowReturn r = gst_pad_push(feed_.get(), gst_buffer_ref(b.get()));
    if (r != GST_FLOW_OK) {
      // An element that fails posts the reason on the bus; a refusal (not-negotiated) may not.
      *error = bus_error().value_or(std::string("the decoder refused the segment's video: ") +
                                    gst_flow_get_name(r));
      reset();
      return false;
    }
  }
  // A new STREAM_START makes GstVideoDecoder drain (B-frame reordering holds the last frames
  // back) without EOS and without a flush, so decoder and encoders stay warm; it then travels
  // down every branch behind the segment's frames and marks them complete (on_sink_event).
  // Nothing waits for the encoders here: the next segment's demuxing and decoding overlap
  // this one's encoding, and collect() waits.
  gchar* sid = g_strdup_printf("%s%u", kDrainPrefix, segments_);
  gst_pad_push_event(feed_.get(), gst_event_new_stream_start(sid));
  g_free(sid);
  gst_pad_push_event(feed_.get(), gst_event_new_caps(built_for_.get()));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  gst_pad_push_event(feed_.get(), gst_event_new_segment(&seg));
  return true;
}

bool TranscodeEngine::collect(std::vector<Rendition>* out, std::string* error) {
  out->clear();
  if (pending() == 0) {
    *error = "no segment was submitted";
    return false;
  }
  if (!wait_until([this] { return pending_.front().done >= pending_.front().frames.size(); },
                  error)) {
    reset();
    return false;
  }
  Pending p;
  {
    std::lock_guard lock(mu_);
    p = std::move(pending_.front());
    pending_.pop_front();
  }
  for (std::size_t i = 0; i < p.frames.size(); ++i) {
    std::vector<gst::BufferPtr>& frames = p.frames[i];
    if (frames.empty()) {
      *error = "profile " + options_.profiles[i].name + " produced no frames for the segment";
      return false;
    }
    restamp(&frames, p.first_in);
    Rendition r;
    r.ts.reset(muxer_.mux(p.caps[i].get(), frames, p.audio_caps.get(), p.audio, error));
    if (!r.ts) return false;
    r.width = p.sizes[i].first;
    r.height = p.sizes[i].second;
    r.frames = static_cast<unsigned>(frames.size());
    r.pixels = static_cast<std::uint64_t>(r.frames) * static_cast<std::uint64_t>(r.width) *
               static_cast<std::uint64_t>(r.height);
    out->push_back(std::move(r));
  }
  return true;
}

bool TranscodeEngine::transcode(GstBuffer* segment, std::vector<Rendition>* out,
                                std::string* error) {
  return submit(segment, error) && collect(out, error);
}

}  // namespace lp::media
