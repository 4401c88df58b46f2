// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/transcode/transcode_engine.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

namespace lp::media {

namespace {

bool registered(const char* factory) {
  gst::ObjectPtr<GstElementFactory> f(gst_element_factory_find(factory));
  return f != nullptr;
}

const char* x264_profile_caps(H264Profile p) {
  switch (p) {
    case H264Profile::baseline: return "constrained-baseline";
    case H264Profile::main: return "main";
    case H264Profile::high:
    case H264Profile::constrained_high: return "high";
    case H264Profile::encoder_default: break;
  }
  return nullptr;
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

GstPadProbeReturn TranscodeEngine::on_sink_event(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) != GST_EVENT_STREAM_START) return GST_PAD_PROBE_OK;
  auto* self = static_cast<TranscodeEngine*>(data);
  std::lock_guard lock(self->mu_);
  for (Branch& b : self->branches_) {
    gst::ObjectPtr<GstPad> encsink(gst_element_get_static_pad(b.encoder, "sink"));
    if (encsink.get() == pad) b.drained = true;
  }
  self->drained_cv_.notify_all();
  return GST_PAD_PROBE_OK;
}

bool TranscodeEngine::build(GstCaps* video_caps, std::string* error) {
  teardown();
  GstStructure* s = gst_caps_get_structure(video_caps, 0);
  int src_w = 0, src_h = 0;
  gst_structure_get_int(s, "width", &src_w);
  gst_structure_get_int(s, "height", &src_h);

  const bool gpu_decode = options_.gpu != GpuMode::off && registered("nvh264dec");
  if (options_.gpu == GpuMode::on && !gpu_decode) {
    *error = "gpu=on but nvh264dec is not registered (no NVIDIA GPU, driver or gst nvcodec plugin)";
    return false;
  }
  // H100/H200 have NVDEC but no NVENC: the encoder is picked on its own.
  const bool gpu_encode = options_.gpu != GpuMode::off && registered("nvh264enc");
  decoder_ = gpu_decode ? "nvh264dec" : "avdec_h264";
  encoder_ = gpu_encode ? "nvh264enc" : "x264enc";

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
  for (const VideoProfile& p : options_.profiles) {
    auto [w, h] = output_size(p, src_w, src_h);
    GstElement* queue = make("queue", error);
    GstElement* scale = make("videoscale", error);
    GstElement* convert = make("videoconvert", error);
    GstElement* raw = make("capsfilter", error);
    GstElement* enc = make(encoder_.c_str(), error);
    GstElement* h264 = make("capsfilter", error);
    GstElement* sink = make("appsink", error);
    if (!queue || !scale || !convert || !raw || !enc || !h264 || !sink) return false;
    g_object_set(queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", static_cast<guint64>(0), nullptr);
    gst::CapsPtr raw_caps(gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, w, "height", G_TYPE_INT, h,
                                              "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr));
    if (p.fps > 0) gst_caps_set_simple(raw_caps.get(), "framerate", GST_TYPE_FRACTION, p.fps, p.fps_den, nullptr);
    g_object_set(raw, "caps", raw_caps.get(), nullptr);
    if (encoder_ == "x264enc") {
      // Bitrate as lpms sets it; no B-frames for baseline/constrained high; no frame delay, so
      // that a segment's last frame leaves the encoder with the segment.
      const bool no_bframes = p.profile == H264Profile::baseline || p.profile == H264Profile::constrained_high;
      gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", options_.x264_preset.c_str());
      gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
      g_object_set(enc, "bitrate", static_cast<guint>(std::max(1, p.bitrate / 1000)), "bframes", no_bframes ? 0u : 0u,
                   nullptr);
      if (p.gop_ms > 0) {
        const int fps = p.fps > 0 ? p.fps / std::max(1, p.fps_den) : 30;
        g_object_set(enc, "key-int-max", static_cast<guint>(std::max(1, p.gop_ms * fps / 1000)), nullptr);
      } else if (p.gop_ms < 0) {
        g_object_set(enc, "key-int-max", 1u, nullptr);
      }
    } else {
      g_object_set(enc, "bitrate", static_cast<guint>(std::max(1, p.bitrate / 1000)), "bframes", 0u, nullptr);
    }
    gst::CapsPtr out_caps(gst_caps_from_string("video/x-h264, stream-format=byte-stream, alignment=au"));
    if (const char* prof = x264_profile_caps(p.profile))
      gst_caps_set_simple(out_caps.get(), "profile", G_TYPE_STRING, prof, nullptr);
    g_object_set(h264, "caps", out_caps.get(), nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, "wait-on-eos", FALSE, "max-buffers", 0u, nullptr);
    gst_bin_add_many(bin, queue, scale, convert, raw, enc, h264, sink, nullptr);
    if (!gst_element_link_many(tee, queue, scale, convert, raw, enc, h264, sink, nullptr)) {
      *error = "cannot link the branch for profile " + p.name;
      return false;
    }
    // The segment's closing STREAM_START reaches the encoder after the segment's last frame;
    // the encoder has no frame delay (zerolatency), so that frame is already in the appsink.
    gst::ObjectPtr<GstPad> encsink(gst_element_get_static_pad(enc, "sink"));
    gst_pad_add_probe(encsink.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_sink_event, this, nullptr);
    branches_.push_back(Branch{sink, enc, w, h, false});
  }
  // Our own source pad feeds the decoder from the calling thread, so that pushing a segment
  // and draining it are synchronous with transcode().
  feed_.reset(GST_PAD(gst_object_ref_sink(gst_pad_new("feed", GST_PAD_SRC))));
  gst_pad_set_active(feed_.get(), TRUE);
  gst::ObjectPtr<GstPad> decsink(gst_element_get_static_pad(dec, "sink"));
  if (gst_pad_link_full(feed_.get(), decsink.get(), GST_PAD_LINK_CHECK_NOTHING) != GST_PAD_LINK_OK) {
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

bool TranscodeEngine::wait_drained(std::string* error) {
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  const gint64 deadline = g_get_monotonic_time() + 120 * G_TIME_SPAN_SECOND;  // safety net only
  for (;;) {
    {
      std::unique_lock lock(mu_);
      drained_cv_.wait_for(lock, std::chrono::milliseconds(20));
      bool all = true;
      for (const Branch& b : branches_) all = all && b.drained;
      if (all) return true;
    }
    if (gst::MessagePtr m{gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)}) {
      GError* err = nullptr;
      gst_message_parse_error(m.get(), &err, nullptr);
      *error = std::string("transcoding failed: ") + (err ? err->message : "unknown error");
      g_clear_error(&err);
      return false;
    }
    if (g_get_monotonic_time() > deadline) {
      *error = "transcoding a segment did not finish within 120 s";
      return false;
    }
  }
}

bool TranscodeEngine::transcode(GstBuffer* segment, std::vector<Rendition>* out, std::string* error) {
  DemuxedSegment d;
  if (!demuxer_.demux(segment, &d, error)) return false;
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
    if (!build(d.video_caps.get(), error)) {
      teardown();
      return false;
    }
  } else if (!gst_caps_is_equal(built_for_.get(), d.video_caps.get())) {
    gst_pad_push_event(feed_.get(), gst_event_new_caps(d.video_caps.get()));
    built_for_.reset(gst_caps_ref(d.video_caps.get()));
  }
  // Every rendition segment starts with an IDR: the encoders act on this event before the
  // segment's first frame.
  GstClockTime first = GST_BUFFER_PTS(d.video.front().get());
  gst_pad_push_event(feed_.get(), gst_video_event_new_downstream_force_key_unit(first, first, first, TRUE, 0));
  GstClockTime end = first;
  for (const auto& b : d.video) {
    if (GST_BUFFER_PTS_IS_VALID(b.get()) && GST_BUFFER_DURATION_IS_VALID(b.get()))
      end = std::max(end, GST_BUFFER_PTS(b.get()) + GST_BUFFER_DURATION(b.get()));
    GstFlowReturn r = gst_pad_push(feed_.get(), gst_buffer_ref(b.get()));
    if (r != GST_FLOW_OK) break;  // the bus has the reason; wait_drained reports it
  }
  // A new STREAM_START makes GstVideoDecoder drain (B-frame reordering holds the last frames
  // back) without EOS and without a flush, so decoder and encoders stay warm; it then travels
  // down every branch behind the segment's frames and marks them complete.
  {
    std::lock_guard lock(mu_);
    for (Branch& b : branches_) b.drained = false;
  }
  gchar* sid = g_strdup_printf("lptranscode/%u", ++segments_);
  gst_pad_push_event(feed_.get(), gst_event_new_stream_start(sid));
  g_free(sid);
  gst_pad_push_event(feed_.get(), gst_event_new_caps(built_for_.get()));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  gst_pad_push_event(feed_.get(), gst_event_new_segment(&seg));
  last_end_ = end;
  if (!wait_drained(error)) {
    teardown();
    return false;
  }
  out->clear();
  for (std::size_t i = 0; i < branches_.size(); ++i) {
    const Branch& b = branches_[i];
    std::vector<gst::BufferPtr> frames;
    gst::CapsPtr caps;
    while (gst::SamplePtr smp{gst_app_sink_try_pull_sample(GST_APP_SINK(b.sink), 0)}) {
      if (gst_sample_get_caps(smp.get())) caps.reset(gst_caps_ref(gst_sample_get_caps(smp.get())));
      frames.emplace_back(gst_buffer_ref(gst_sample_get_buffer(smp.get())));
    }
    if (frames.empty()) {
      *error = "profile " + options_.profiles[i].name + " produced no frames for the segment";
      return false;
    }
    if (!caps) {
      gst::ObjectPtr<GstPad> pad(gst_element_get_static_pad(b.sink, "sink"));
      caps.reset(gst_pad_get_current_caps(pad.get()));
    }
    Rendition r;
    r.ts.reset(muxer_.mux(caps.get(), frames, d.audio_caps.get(), d.audio, error));
    if (!r.ts) return false;
    r.width = b.width;
    r.height = b.height;
    r.frames = static_cast<unsigned>(frames.size());
    r.pixels = static_cast<std::uint64_t>(r.frames) * static_cast<std::uint64_t>(b.width) * static_cast<std::uint64_t>(b.height);
    out->push_back(std::move(r));
  }
  return true;
}

}  // namespace lp::media
