// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-lpsegmenter
 * @title: lpsegmenter
 *
 * Cuts a live stream of parsed H.264 (and optionally AAC) into MPEG-TS segments, as a Livepeer
 * gateway sends them to orchestrators. Each output buffer is one whole segment that starts at
 * an IDR frame and lasts about #LpSegmenter:target-duration, with an #LpSegmentMeta (stream id,
 * seq from 0, start PTS, duration, frame count). Every input frame is in exactly one segment:
 * a long GOP makes a long segment (with one warning), never dropped frames. A live encoder
 * upstream is asked for a keyframe (force-key-unit) when a segment reaches the target. A
 * discontinuity or a format change starts a new segment marked as discontinuous.
 *
 * A stream without video is an error, never a wait ("The input has no video frames"): when
 * the video pad ends without a frame; when it is linked and no frame comes within 5 s of the
 * first audio; when it is not linked and the audio ends or passes 10 s of stream time.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.ts ! tsdemux name=d \
 *   d. ! queue ! h264parse ! seg.video \
 *   d. ! queue ! aacparse ! seg.audio \
 *   lpsegmenter name=seg target-duration=2000000000 ! multifilesink location=seg-%05d.ts
 * ]|
 */
#include "elements/gstlpsegmenter.h"

#include <gst/video/video.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "elements/lpmeta.h"
#include "elements/segmenter/segment_cutter.h"
#include "elements/segmenter/segment_muxer.h"

GST_DEBUG_CATEGORY_STATIC(lp_segmenter_debug);
#define GST_CAT_DEFAULT lp_segmenter_debug

enum { PROP_0, PROP_TARGET_DURATION, PROP_STREAM_ID, PROP_FORCE_KEY_UNITS };

#define DEFAULT_TARGET_DURATION (2 * GST_SECOND)
#define DEFAULT_STREAM_ID nullptr
#define DEFAULT_FORCE_KEY_UNITS TRUE

// How much audio (stream time) is held while no video frame has arrived before the stream
// counts as one without video: enough for a live source whose video starts late.
static constexpr GstClockTime kMaxAudioWithoutVideo = 10 * GST_SECOND;
// With the video pad linked, how long (wall clock) audio may wait for the first video frame.
static constexpr GstClockTime kVideoWait = 5 * GST_SECOND;

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE(
    "video", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-h264, stream-format=(string)byte-stream, alignment=(string)au"));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE(
    "audio", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS("audio/mpeg, mpegversion=(int)4, stream-format=(string)adts"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true, packetsize=(int)188"));

namespace {

struct Settings {  // guarded by settings_lock; copied out at READY->PAUSED
  GstClockTime target_duration = DEFAULT_TARGET_DURATION;
  std::string stream_id;
  bool force_key_units = DEFAULT_FORCE_KEY_UNITS;
};

struct Segment {
  std::vector<lp::gst::BufferPtr> video;
  std::vector<lp::gst::BufferPtr> audio;
  GstClockTime last_video_end = GST_CLOCK_TIME_NONE;
};

}  // namespace

struct LpSegmenterPriv {
  std::mutex settings_lock;
  Settings settings;  // guarded by settings_lock

  // Streaming state: only the aggregator's source thread touches it (aggregate and the
  // serialized sink events it calls), between start() and stop().
  Settings active;
  std::unique_ptr<lp::media::SegmentCutter> cutter;
  lp::media::SegmentMuxer muxer;
  Segment current;
  lp::gst::CapsPtr video_caps;
  lp::gst::CapsPtr segment_video_caps;  // the caps the current segment was made with
  lp::gst::CapsPtr audio_caps;
  bool first_keyframe = true;
  bool src_caps_set = false;

  // Audio before the first video frame. GstAggregator aggregates only once every pad has a
  // buffer (or EOS), so audio queued on its pad while the video pad is empty would block the
  // audio stream and, through it, the demuxer that feeds both: a stream without video would
  // hang. A probe takes that audio off the pad in the audio streaming thread instead, and the
  // first segment gets it (aggregate moves it there under the lock).
  std::mutex early_lock;
  std::vector<lp::gst::BufferPtr> early_audio;     // guarded by early_lock
  bool video_seen = false;                         // a buffer reached the video pad; early_lock
  bool no_video = false;                           // the no-video error was posted; early_lock
  GstClockTime early_first = GST_CLOCK_TIME_NONE;  // guarded by early_lock
  GstClockTime early_end = GST_CLOCK_TIME_NONE;    // guarded by early_lock
  GstClockID video_watch = nullptr;  // the kVideoWait check on the system clock; early_lock
};

struct _LpSegmenter {
  GstAggregator parent;
  LpSegmenterPriv* priv;
  GstAggregatorPad* video_pad;  // owned by the element
  GstAggregatorPad* audio_pad;  // owned by the element; null until requested
};

G_DEFINE_TYPE(LpSegmenter, lp_segmenter, GST_TYPE_AGGREGATOR);
GST_ELEMENT_REGISTER_DEFINE(lpsegmenter, "lpsegmenter", GST_RANK_NONE, LP_TYPE_SEGMENTER);

static void lp_segmenter_finalize(GObject* object);
static void lp_segmenter_set_property(GObject* object, guint id, const GValue* value,
                                      GParamSpec* pspec);
static void lp_segmenter_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec);
static GstAggregatorPad* lp_segmenter_create_new_pad(GstAggregator* agg, GstPadTemplate* templ,
                                                     const gchar* req_name,
                                                     const GstCaps* caps) noexcept;
static gboolean lp_segmenter_start(GstAggregator* agg) noexcept;
static gboolean lp_segmenter_stop(GstAggregator* agg) noexcept;
static gboolean lp_segmenter_sink_event(GstAggregator* agg, GstAggregatorPad* pad,
                                        GstEvent* event) noexcept;
static GstFlowReturn lp_segmenter_aggregate(GstAggregator* agg, gboolean timeout) noexcept;
static void lp_segmenter_release_pad(GstElement* element, GstPad* pad) noexcept;
static GstPadProbeReturn on_video_buffer(GstPad* pad, GstPadProbeInfo* info,
                                         gpointer data) noexcept;
static GstPadProbeReturn on_audio_data(GstPad* pad, GstPadProbeInfo* info, gpointer data) noexcept;

static void lp_segmenter_class_init(LpSegmenterClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstAggregatorClass* agg_class = GST_AGGREGATOR_CLASS(klass);

  gobject_class->finalize = lp_segmenter_finalize;
  gobject_class->set_property = lp_segmenter_set_property;
  gobject_class->get_property = lp_segmenter_get_property;

  g_object_class_install_property(
      gobject_class, PROP_TARGET_DURATION,
      g_param_spec_uint64(
          "target-duration", "Target duration",
          "Cut at the first IDR frame at least this long (ns) after the segment's start",
          GST_MSECOND, 60 * GST_SECOND, DEFAULT_TARGET_DURATION,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                   GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_STREAM_ID,
      g_param_spec_string("stream-id", "Stream id",
                          "Stream id written into each segment's meta (go-livepeer's manifest id); "
                          "a random 8-hex-digit id when not set",
                          DEFAULT_STREAM_ID,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_FORCE_KEY_UNITS,
      g_param_spec_boolean(
          "force-key-units", "Force key units",
          "Ask upstream for a keyframe (force-key-unit event) when a segment reaches "
          "the target duration",
          DEFAULT_FORCE_KEY_UNITS,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                   GST_PARAM_MUTABLE_READY)));

  gst_element_class_add_static_pad_template_with_gtype(element_class, &video_template,
                                                       GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &audio_template,
                                                       GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &src_template,
                                                       GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_set_static_metadata(
      element_class, "Livepeer segmenter", "Codec/Muxer",
      "Cuts parsed H.264 (+ AAC) into MPEG-TS segments at IDR frames", "livepeer-gst developers");

  element_class->release_pad = lp_segmenter_release_pad;
  agg_class->create_new_pad = lp_segmenter_create_new_pad;
  agg_class->start = lp_segmenter_start;
  agg_class->stop = lp_segmenter_stop;
  agg_class->sink_event = lp_segmenter_sink_event;
  agg_class->aggregate = lp_segmenter_aggregate;

  GST_DEBUG_CATEGORY_INIT(lp_segmenter_debug, "lpsegmenter", 0, "Livepeer segmenter");
}

static void lp_segmenter_init(LpSegmenter* self) {
  self->priv = new LpSegmenterPriv();
  GstPadTemplate* templ = gst_static_pad_template_get(&video_template);
  self->video_pad =
      GST_AGGREGATOR_PAD(g_object_new(GST_TYPE_AGGREGATOR_PAD, "name", "video", "direction",
                                      GST_PAD_SINK, "template", templ, nullptr));
  gst_object_unref(templ);
  gst_element_add_pad(GST_ELEMENT(self), GST_PAD(self->video_pad));
  gst_pad_add_probe(GST_PAD(self->video_pad), GST_PAD_PROBE_TYPE_BUFFER, on_video_buffer, self,
                    nullptr);
  self->audio_pad = nullptr;
}

static void lp_segmenter_finalize(GObject* object) {
  delete LP_SEGMENTER(object)->priv;
  G_OBJECT_CLASS(lp_segmenter_parent_class)->finalize(object);
}

static void lp_segmenter_set_property(GObject* object, guint id, const GValue* value,
                                      GParamSpec* pspec) {
  LpSegmenterPriv* priv = LP_SEGMENTER(object)->priv;
  std::lock_guard lock(priv->settings_lock);
  switch (id) {
    case PROP_TARGET_DURATION:
      priv->settings.target_duration = g_value_get_uint64(value);
      break;
    case PROP_STREAM_ID: {
      const gchar* s = g_value_get_string(value);
      priv->settings.stream_id = s ? s : "";
      break;
    }
    case PROP_FORCE_KEY_UNITS:
      priv->settings.force_key_units = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      break;
  }
}

static void lp_segmenter_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  LpSegmenterPriv* priv = LP_SEGMENTER(object)->priv;
  std::lock_guard lock(priv->settings_lock);
  switch (id) {
    case PROP_TARGET_DURATION:
      g_value_set_uint64(value, priv->settings.target_duration);
      break;
    case PROP_STREAM_ID:
      g_value_set_string(
          value, priv->settings.stream_id.empty() ? nullptr : priv->settings.stream_id.c_str());
      break;
    case PROP_FORCE_KEY_UNITS:
      g_value_set_boolean(value, priv->settings.force_key_units);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      break;
  }
}

static GstAggregatorPad* lp_segmenter_create_new_pad(GstAggregator* agg, GstPadTemplate* templ,
                                                     const gchar*, const GstCaps*) noexcept {
  LpSegmenter* self = LP_SEGMENTER(agg);
  if (g_strcmp0(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "audio") != 0) return nullptr;
  GST_OBJECT_LOCK(self);
  const bool taken = self->audio_pad != nullptr;
  GST_OBJECT_UNLOCK(self);
  if (taken) {
    GST_WARNING_OBJECT(self, "only one audio pad is supported");
    return nullptr;
  }
  auto* pad = GST_AGGREGATOR_PAD(g_object_new(GST_TYPE_AGGREGATOR_PAD, "name", "audio", "direction",
                                              GST_PAD_SINK, "template", templ, nullptr));
  gst_pad_add_probe(
      GST_PAD(pad),
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      on_audio_data, self, nullptr);
  GST_OBJECT_LOCK(self);
  self->audio_pad = pad;
  GST_OBJECT_UNLOCK(self);
  return pad;
}

static void lp_segmenter_release_pad(GstElement* element, GstPad* pad) noexcept {
  LpSegmenter* self = LP_SEGMENTER(element);
  GST_OBJECT_LOCK(self);
  if (GST_PAD(self->audio_pad) == pad) self->audio_pad = nullptr;
  GST_OBJECT_UNLOCK(self);
  GST_ELEMENT_CLASS(lp_segmenter_parent_class)->release_pad(element, pad);
}

static std::string random_stream_id() {
  gchar* s = g_strdup_printf("%08x", g_random_int());
  std::string out(s);
  g_free(s);
  return out;
}

static gboolean lp_segmenter_start(GstAggregator* agg) noexcept {
  LpSegmenterPriv* priv = LP_SEGMENTER(agg)->priv;
  {
    std::lock_guard lock(priv->settings_lock);
    priv->active = priv->settings;
  }
  if (priv->active.stream_id.empty()) priv->active.stream_id = random_stream_id();
  priv->cutter = std::make_unique<lp::media::SegmentCutter>(priv->active.target_duration);
  priv->current = Segment{};
  priv->first_keyframe = true;
  priv->src_caps_set = false;
  std::lock_guard lock(priv->early_lock);
  priv->early_audio.clear();
  priv->video_seen = priv->no_video = false;
  priv->early_first = priv->early_end = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static gboolean lp_segmenter_stop(GstAggregator* agg) noexcept {
  LpSegmenterPriv* priv = LP_SEGMENTER(agg)->priv;
  priv->current = Segment{};
  GstClockID watch = nullptr;
  {
    std::lock_guard lock(priv->early_lock);
    priv->early_audio.clear();
    std::swap(watch, priv->video_watch);
  }
  if (watch) {
    gst_clock_id_unschedule(watch);
    gst_clock_id_unref(watch);
  }
  priv->video_caps.reset();
  priv->segment_video_caps.reset();
  priv->audio_caps.reset();
  priv->cutter.reset();
  return TRUE;
}

static gboolean lp_segmenter_sink_event(GstAggregator* agg, GstAggregatorPad* pad,
                                        GstEvent* event) noexcept {
  LpSegmenter* self = LP_SEGMENTER(agg);
  LpSegmenterPriv* priv = self->priv;
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps* caps = nullptr;
    gst_event_parse_caps(event, &caps);
    if (pad == self->video_pad) {
      GstStructure* s = gst_caps_get_structure(caps, 0);
      gint w = 0, h = 0, ow = 0, oh = 0;
      gst_structure_get_int(s, "width", &w);
      gst_structure_get_int(s, "height", &h);
      if (priv->video_caps) {
        GstStructure* old = gst_caps_get_structure(priv->video_caps.get(), 0);
        gst_structure_get_int(old, "width", &ow);
        gst_structure_get_int(old, "height", &oh);
        if ((w != ow || h != oh) && priv->cutter) {
          GST_INFO_OBJECT(self, "resolution %dx%d -> %dx%d: the next IDR starts a new segment", ow,
                          oh, w, h);
          priv->cutter->on_format_change();
        }
      }
      priv->video_caps.reset(gst_caps_ref(caps));
    } else {
      priv->audio_caps.reset(gst_caps_ref(caps));
    }
    gst_event_unref(event);
    return TRUE;
  }
  return GST_AGGREGATOR_CLASS(lp_segmenter_parent_class)->sink_event(agg, pad, event);
}

// What the cutter said about the segment being finished, taken before it moves on.
struct SegmentInfo {
  guint64 seq;
  GstClockTime start;
  bool marked;
};

static SegmentInfo current_info(const LpSegmenterPriv* priv) {
  return {priv->cutter->seq(), priv->cutter->start(), priv->cutter->marked()};
}

// The end of the stream's last segment: its last frame's end. Frames without a duration (no
// frame rate in the stream) last as long as the segment's typical frame spacing.
static GstClockTime estimated_end(const std::vector<lp::gst::BufferPtr>& video) {
  std::vector<GstClockTime> pts;
  GstClockTime end = GST_CLOCK_TIME_NONE;
  for (const auto& b : video) {
    if (!GST_BUFFER_PTS_IS_VALID(b.get())) continue;
    pts.push_back(GST_BUFFER_PTS(b.get()));
    if (GST_BUFFER_DURATION_IS_VALID(b.get())) {
      const GstClockTime e = GST_BUFFER_PTS(b.get()) + GST_BUFFER_DURATION(b.get());
      end = GST_CLOCK_TIME_IS_VALID(end) ? std::max(end, e) : e;
    }
  }
  if (GST_CLOCK_TIME_IS_VALID(end) || pts.size() < 2) return end;
  std::sort(pts.begin(), pts.end());
  std::vector<GstClockTime> gaps;
  for (std::size_t i = 1; i < pts.size(); ++i) gaps.push_back(pts[i] - pts[i - 1]);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2),
                   gaps.end());
  return pts.back() + gaps[gaps.size() / 2];
}

// Muxes and pushes the current segment; `end` is the next segment's start or the stream's end.
static GstFlowReturn finish_segment(LpSegmenter* self, const SegmentInfo& info, GstClockTime end) {
  LpSegmenterPriv* priv = self->priv;
  Segment seg = std::move(priv->current);
  priv->current = Segment{};
  if (seg.video.empty()) return GST_FLOW_OK;
  if (!priv->src_caps_set) {
    lp::gst::CapsPtr caps(gst_static_pad_template_get_caps(&src_template));
    gst_aggregator_set_src_caps(GST_AGGREGATOR(self), caps.get());
    priv->src_caps_set = true;
  }
  std::string error;
  GstCaps* vcaps =
      priv->segment_video_caps ? priv->segment_video_caps.get() : priv->video_caps.get();
  GstBuffer* out = priv->muxer.mux(vcaps, seg.video, priv->audio_caps.get(), seg.audio, &error);
  if (!out) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("Could not mux segment %" G_GUINT64_FORMAT, info.seq),
                      ("%s", error.c_str()));
    return GST_FLOW_ERROR;
  }
  const GstClockTime start = info.start;
  if (!GST_CLOCK_TIME_IS_VALID(end)) end = estimated_end(seg.video);
  GST_BUFFER_PTS(out) = start;
  GST_BUFFER_DTS(out) = GST_BUFFER_DTS(seg.video.front().get());
  GST_BUFFER_DURATION(out) =
      GST_CLOCK_TIME_IS_VALID(end) && end > start ? end - start : GST_CLOCK_TIME_NONE;
  guint flags = info.marked ? LP_SEGMENT_FLAG_DISCONT : LP_SEGMENT_FLAG_NONE;
  if (GST_BUFFER_FLAG_IS_SET(seg.video.front().get(), GST_BUFFER_FLAG_DELTA_UNIT))
    flags |= LP_SEGMENT_FLAG_NO_KEYFRAME;
  if (flags & LP_SEGMENT_FLAG_DISCONT) GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_DISCONT);
  lp_buffer_add_segment_meta(out, priv->active.stream_id.c_str(), info.seq, start,
                             GST_BUFFER_DURATION(out), static_cast<guint>(seg.video.size()),
                             static_cast<LpSegmentFlags>(flags));
  GST_INFO_OBJECT(
      self,
      "segment %s/%" G_GUINT64_FORMAT ": %zu video + %zu audio frames, start %" GST_TIME_FORMAT
      ", duration %" GST_TIME_FORMAT ", %" G_GSIZE_FORMAT " bytes",
      priv->active.stream_id.c_str(), info.seq, seg.video.size(), seg.audio.size(),
      GST_TIME_ARGS(start), GST_TIME_ARGS(GST_BUFFER_DURATION(out)), gst_buffer_get_size(out));
  return gst_aggregator_finish_buffer(GST_AGGREGATOR(self), out);
}

// Moves the audio held before the first video frame into the current segment.
static void take_early_audio(LpSegmenterPriv* priv) {
  std::lock_guard lock(priv->early_lock);
  for (auto& a : priv->early_audio) priv->current.audio.push_back(std::move(a));
  priv->early_audio.clear();
}

// Posts the no-video error once (the audio thread and the aggregator may both find it).
static void post_no_video(LpSegmenter* self, const std::string& why) {
  {
    std::lock_guard lock(self->priv->early_lock);
    if (self->priv->no_video) return;
    self->priv->no_video = true;
  }
  GST_ELEMENT_ERROR(self, STREAM, DEMUX, ("The input has no video frames"), ("%s", why.c_str()));
}

static GstClockTime video_time(GstBuffer* b) {
  return GST_BUFFER_DTS_IS_VALID(b) ? GST_BUFFER_DTS(b) : GST_BUFFER_PTS(b);
}

static GstFlowReturn handle_video(LpSegmenter* self, GstBuffer* buf) {
  LpSegmenterPriv* priv = self->priv;
  const GstClockTime pts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : video_time(buf);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Video frame without a timestamp"),
                      ("lpsegmenter needs timestamped, parsed H.264 (put h264parse before it)"));
    gst_buffer_unref(buf);
    return GST_FLOW_ERROR;
  }
  const bool keyframe = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  const bool discont =
      GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT) && priv->cutter->started();
  const bool first = !priv->cutter->started();
  const SegmentInfo before = first ? SegmentInfo{} : current_info(priv);
  auto d = priv->cutter->on_video(pts, keyframe, discont);
  GstFlowReturn ret = GST_FLOW_OK;
  if (d.cut) ret = finish_segment(self, before, pts);
  if (first || d.cut) {
    priv->segment_video_caps.reset(priv->video_caps ? gst_caps_ref(priv->video_caps.get())
                                                    : nullptr);
    take_early_audio(priv);
  }
  if (first && !keyframe)
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("The stream does not start with a keyframe"),
                        ("the first segment cannot be decoded on its own until its first IDR"));
  if (d.request_keyframe && priv->active.force_key_units) {
    GstClockTime running = gst_segment_to_running_time(
        &GST_AGGREGATOR_PAD(self->video_pad)->segment, GST_FORMAT_TIME, pts);
    GST_DEBUG_OBJECT(
        self, "segment reached its target: asking upstream for a keyframe at %" GST_TIME_FORMAT,
        GST_TIME_ARGS(running));
    gst_pad_push_event(GST_PAD(self->video_pad), gst_video_event_new_upstream_force_key_unit(
                                                     running, TRUE, priv->cutter->seq() + 1));
  }
  if (d.long_segment)
    GST_ELEMENT_WARNING(
        self, STREAM, FORMAT, ("Long GOP: segments are longer than twice the target duration"),
        ("no keyframe %" GST_TIME_FORMAT " after the segment started at %" GST_TIME_FORMAT
         "; segments follow the source's keyframes, no frame is dropped",
         GST_TIME_ARGS(pts - priv->cutter->start()), GST_TIME_ARGS(priv->cutter->start())));
  if (GST_BUFFER_DURATION_IS_VALID(buf))
    priv->current.last_video_end = pts + GST_BUFFER_DURATION(buf);
  priv->current.video.emplace_back(buf);
  return ret;
}

static GstFlowReturn lp_segmenter_aggregate(GstAggregator* agg, gboolean) noexcept {
  LpSegmenter* self = LP_SEGMENTER(agg);
  LpSegmenterPriv* priv = self->priv;
  GST_OBJECT_LOCK(self);
  GstAggregatorPad* audio =
      self->audio_pad ? GST_AGGREGATOR_PAD(gst_object_ref(self->audio_pad)) : nullptr;
  GST_OBJECT_UNLOCK(self);
  lp::gst::ObjectPtr<GstAggregatorPad> audio_ref(audio);

  lp::gst::BufferPtr vhead(gst_aggregator_pad_peek_buffer(self->video_pad));
  lp::gst::BufferPtr ahead(audio ? gst_aggregator_pad_peek_buffer(audio) : nullptr);

  if (!vhead && !ahead) {
    const bool video_eos = gst_aggregator_pad_is_eos(self->video_pad);
    const bool audio_eos = !audio || gst_aggregator_pad_is_eos(audio);
    bool video_seen = false;
    {
      std::lock_guard lock(priv->early_lock);
      video_seen = priv->video_seen;
    }
    if (video_eos && !video_seen) {
      post_no_video(self,
                    "the video stream ended without a frame; lpsegmenter cuts segments at "
                    "H.264 keyframes");
      return GST_FLOW_ERROR;
    }
    if (video_eos && audio_eos) {
      // The last segment ends where its last frame ends.
      take_early_audio(priv);
      if (!priv->cutter->started()) return GST_FLOW_EOS;
      GstFlowReturn ret = finish_segment(self, current_info(priv), priv->current.last_video_end);
      return ret == GST_FLOW_OK ? GST_FLOW_EOS : ret;
    }
    return GST_FLOW_OK;
  }
  // Take the earlier of the two heads, so audio lands in the segment its time belongs to.
  bool take_video = vhead != nullptr;
  if (vhead && ahead) {
    GstClockTime vt = video_time(vhead.get());
    GstClockTime at = GST_BUFFER_PTS(ahead.get());
    take_video = !GST_CLOCK_TIME_IS_VALID(at) || (GST_CLOCK_TIME_IS_VALID(vt) && vt <= at);
  }
  if (take_video) return handle_video(self, gst_aggregator_pad_pop_buffer(self->video_pad));
  GstBuffer* a = gst_aggregator_pad_pop_buffer(audio);
  if (priv->cutter && priv->cutter->started()) {
    priv->current.audio.emplace_back(a);
  } else {
    std::lock_guard lock(priv->early_lock);
    priv->early_audio.emplace_back(a);
  }
  return GST_FLOW_OK;
}

// On the video pad, in the video streaming thread: from the first buffer on, audio goes
// through the aggregator again.
static GstPadProbeReturn on_video_buffer(GstPad*, GstPadProbeInfo*, gpointer data) noexcept {
  LpSegmenterPriv* priv = LP_SEGMENTER(data)->priv;
  GstClockID watch = nullptr;
  {
    std::lock_guard lock(priv->early_lock);
    if (priv->video_seen) return GST_PAD_PROBE_OK;
    GST_INFO_OBJECT(data, "first video buffer; %zu audio buffers held", priv->early_audio.size());
    priv->video_seen = true;
    std::swap(watch, priv->video_watch);
  }
  if (watch) {
    gst_clock_id_unschedule(watch);
    gst_clock_id_unref(watch);
  }
  return GST_PAD_PROBE_OK;
}

// The kVideoWait check, in the clock's thread: the video pad is linked and still without a frame.
static gboolean on_video_watch(GstClock*, GstClockTime, GstClockID, gpointer data) noexcept {
  LpSegmenter* self = LP_SEGMENTER(data);
  {
    std::lock_guard lock(self->priv->early_lock);
    if (self->priv->video_seen) return TRUE;
  }
  post_no_video(self, "no video frame came within " + std::to_string(kVideoWait / GST_SECOND) +
                          " s of the first audio: the video stream carries no frames");
  return TRUE;
}

// On the audio pad, in the audio streaming thread: holds the audio that comes before any video
// (see LpSegmenterPriv::early_audio) and fails the stream when there is no video to wait for.
static GstPadProbeReturn on_audio_data(GstPad*, GstPadProbeInfo* info, gpointer data) noexcept {
  LpSegmenter* self = LP_SEGMENTER(data);
  LpSegmenterPriv* priv = self->priv;
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
    {
      std::lock_guard lock(priv->early_lock);
      if (priv->video_seen) return GST_PAD_PROBE_OK;
    }
    // A linked video pad still gets its EOS (or frames), and aggregate decides; an unlinked
    // one never does, and the aggregator would wait for it forever.
    if (!gst_pad_is_linked(GST_PAD(self->video_pad)))
      post_no_video(self,
                    "the audio ended and the video pad is not linked: the input has no "
                    "H.264 video stream");
    return GST_PAD_PROBE_OK;
  }
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  const bool video_linked = gst_pad_is_linked(GST_PAD(self->video_pad));
  std::unique_lock lock(priv->early_lock);
  if (priv->video_seen) return GST_PAD_PROBE_OK;
  if (priv->no_video) {
    gst_buffer_unref(buf);
    GST_PAD_PROBE_INFO_FLOW_RETURN(info) = GST_FLOW_ERROR;
    return GST_PAD_PROBE_HANDLED;
  }
  if (video_linked) {
    // Video is on its way: the audio waits in the aggregator as usual. Taking it here would
    // run it ahead of the video the demuxer has not sent yet, and the demuxer could then block
    // on a full video queue while the aggregator waits for audio. A video stream that carries
    // no frames blocks the demuxer all the same; a check on the system clock ends that.
    if (!priv->video_watch) {
      GstClock* clock = gst_system_clock_obtain();
      priv->video_watch =
          gst_clock_new_single_shot_id(clock, gst_clock_get_time(clock) + kVideoWait);
      gst_clock_id_wait_async(priv->video_watch, on_video_watch, gst_object_ref(self),
                              gst_object_unref);
      gst_object_unref(clock);
    }
    return GST_PAD_PROBE_OK;
  }
  if (GST_BUFFER_PTS_IS_VALID(buf)) {
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    const GstClockTime end =
        pts + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : GstClockTime{0});
    if (!GST_CLOCK_TIME_IS_VALID(priv->early_first) || pts < priv->early_first)
      priv->early_first = pts;
    if (!GST_CLOCK_TIME_IS_VALID(priv->early_end) || end > priv->early_end) priv->early_end = end;
  }
  GST_DEBUG_OBJECT(self, "holding audio %" GST_TIME_FORMAT, GST_TIME_ARGS(GST_BUFFER_PTS(buf)));
  priv->early_audio.emplace_back(buf);  // the probe's reference: HANDLED passes it to us
  const bool too_long = GST_CLOCK_TIME_IS_VALID(priv->early_first) &&
                        priv->early_end - priv->early_first > kMaxAudioWithoutVideo;
  const GstClockTime span = too_long ? priv->early_end - priv->early_first : 0;
  lock.unlock();
  if (too_long) {
    gchar* why = g_strdup_printf(
        "%.1f s of audio and no video frame; lpsegmenter cuts segments at "
        "H.264 keyframes",
        static_cast<double>(span) / GST_SECOND);
    post_no_video(self, why);
    g_free(why);
    GST_PAD_PROBE_INFO_FLOW_RETURN(info) = GST_FLOW_ERROR;
  }
  return GST_PAD_PROBE_HANDLED;
}
