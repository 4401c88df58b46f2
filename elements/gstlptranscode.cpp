// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-lptranscode
 * @title: lptranscode
 *
 * The orchestrator's transcoder, a bin. Takes whole MPEG-TS segments (from lpsegmenter, or as
 * orchestrators receive them) and produces, for each, one MPEG-TS rendition per profile on the
 * request pad `src_N` (N = the profile's index in #LpTranscode:profiles), with an
 * #LpRenditionMeta (seq, profile, size, frames, encoded pixels). Decoding happens once; each
 * profile scales and encodes on its own branch; the audio is copied into every rendition. The
 * decoder and the encoders are kept across segments. Elements are picked at run time:
 * `nvh264dec` and `nvh264enc` when registered (each on its own: H100/H200 decode on NVDEC but
 * have no NVENC), `avdec_h264` and `x264enc` otherwise; #LpTranscode:gpu forces either.
 *
 * Inside, a transcoding element feeds one `queue` per requested source pad, so that a branch
 * that blocks (a sink prerolling, a slow consumer) does not starve the others: the launch line
 * below needs no queues of its own. Every profile is transcoded whether or not its pad was
 * requested (an orchestrator returns the whole ladder); unrequested renditions are dropped.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.ts ! tsdemux name=d d. ! queue ! h264parse ! seg.video \
 *   d. ! queue ! aacparse ! seg.audio lpsegmenter name=seg ! \
 *   lptranscode name=t profiles=P240p30fps16x9,P360p30fps16x9 \
 *   t.src_0 ! multifilesink location=240p-%05d.ts  t.src_1 ! multifilesink location=360p-%05d.ts
 * ]|
 */
#include "elements/gstlptranscode.h"

#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "elements/lpmeta.h"
#include "elements/transcode/transcode_engine.h"

GST_DEBUG_CATEGORY_STATIC(lp_transcode_debug);
#define GST_CAT_DEFAULT lp_transcode_debug

enum { PROP_0, PROP_PROFILES, PROP_GPU, PROP_SPEED_PRESET, PROP_DECODER, PROP_ENCODER };

#define DEFAULT_PROFILES "P240p30fps16x9,P360p30fps16x9"
#define DEFAULT_GPU LP_TRANSCODE_GPU_AUTO
#define DEFAULT_SPEED_PRESET "veryfast"

typedef enum { LP_TRANSCODE_GPU_AUTO, LP_TRANSCODE_GPU_ON, LP_TRANSCODE_GPU_OFF } LpTranscodeGpu;

GType lp_transcode_gpu_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {LP_TRANSCODE_GPU_AUTO, "NVIDIA nvcodec elements when registered, the CPU otherwise", "auto"},
      {LP_TRANSCODE_GPU_ON, "NVIDIA decoding required (fail without it)", "on"},
      {LP_TRANSCODE_GPU_OFF, "CPU only: avdec_h264 and x264enc", "off"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("LpTranscodeGpu", values));
  return type;
}

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src_%u", GST_PAD_SRC, GST_PAD_REQUEST,
    GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true, packetsize=(int)188"));

struct LpTranscodePriv {
  std::mutex settings_lock;
  std::string profiles = DEFAULT_PROFILES;  // guarded by settings_lock
  LpTranscodeGpu gpu = DEFAULT_GPU;         // guarded by settings_lock
  std::string speed_preset = DEFAULT_SPEED_PRESET;

  // Streaming state: the sink pad's streaming thread, between READY->PAUSED and PAUSED->READY.
  std::unique_ptr<lp::media::TranscodeEngine> engine;
  std::vector<lp::media::VideoProfile> active_profiles;
  guint64 next_out_seq = 0;
  std::deque<lp::gst::BufferPtr> in_flight;  // submitted, renditions not pushed yet
};

/* ---- The transcoding element inside the bin ---------------------------------------------- */

struct LpTranscodeCore {
  GstElement parent;
  GstPad* sinkpad;
  LpTranscodePriv* priv;
};
struct LpTranscodeCoreClass {
  GstElementClass parent_class;
};

G_DEFINE_TYPE(LpTranscodeCore, lp_transcode_core, GST_TYPE_ELEMENT);
#define LP_TRANSCODE_CORE(obj) (reinterpret_cast<LpTranscodeCore*>(obj))

static void core_finalize(GObject* object);
static void core_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec);
static void core_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec);
static GstStateChangeReturn core_change_state(GstElement* element,
                                              GstStateChange transition) noexcept;
static GstPad* core_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name,
                                    const GstCaps* caps) noexcept;
static void core_release_pad(GstElement* element, GstPad* pad) noexcept;
static GstFlowReturn core_chain(GstPad* pad, GstObject* parent, GstBuffer* buf) noexcept;
static gboolean core_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) noexcept;

/* The properties and pad templates, installed on both the bin (which forwards the properties)
 * and the core. */
static void install_interface(GObjectClass* gobject_class, GstElementClass* element_class) {
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  const auto read_only = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_PROFILES,
      g_param_spec_string(
          "profiles", "Profiles",
          "The ladder: go-livepeer preset names separated by commas "
          "(P240p30fps16x9,P360p30fps16x9), ladder JSON, or a path to a .json ladder file",
          DEFAULT_PROFILES, ready));
  g_object_class_install_property(gobject_class, PROP_GPU,
                                  g_param_spec_enum("gpu", "GPU", "Use NVIDIA nvcodec elements",
                                                    LP_TYPE_TRANSCODE_GPU, DEFAULT_GPU, ready));
  g_object_class_install_property(
      gobject_class, PROP_SPEED_PRESET,
      g_param_spec_string("speed-preset", "Speed preset",
                          "x264enc speed-preset for CPU encoding (ultrafast ... placebo)",
                          DEFAULT_SPEED_PRESET, ready));
  g_object_class_install_property(
      gobject_class, PROP_DECODER,
      g_param_spec_string("decoder", "Decoder",
                          "The decoder element in use (after the first segment)", nullptr,
                          read_only));
  g_object_class_install_property(
      gobject_class, PROP_ENCODER,
      g_param_spec_string("encoder", "Encoder",
                          "The encoder element in use (after the first segment)", nullptr,
                          read_only));
}

static void lp_transcode_core_class_init(LpTranscodeCoreClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->finalize = core_finalize;
  gobject_class->set_property = core_set_property;
  gobject_class->get_property = core_get_property;
  install_interface(gobject_class, element_class);
  gst_element_class_set_static_metadata(
      element_class, "Livepeer transcoder core", "Codec/Transcoder",
      "The transcoding element inside lptranscode", "livepeer-gst developers");
  element_class->change_state = core_change_state;
  element_class->request_new_pad = core_request_new_pad;
  element_class->release_pad = core_release_pad;
}

static void lp_transcode_core_init(LpTranscodeCore* self) {
  self->priv = new LpTranscodePriv();
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, core_chain);
  gst_pad_set_event_function(self->sinkpad, core_sink_event);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
}

static void core_finalize(GObject* object) {
  delete LP_TRANSCODE_CORE(object)->priv;
  G_OBJECT_CLASS(lp_transcode_core_parent_class)->finalize(object);
}

static void core_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  LpTranscodePriv* priv = LP_TRANSCODE_CORE(object)->priv;
  std::lock_guard lock(priv->settings_lock);
  switch (id) {
    case PROP_PROFILES:
      priv->profiles = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_GPU:
      priv->gpu = static_cast<LpTranscodeGpu>(g_value_get_enum(value));
      break;
    case PROP_SPEED_PRESET:
      priv->speed_preset =
          g_value_get_string(value) ? g_value_get_string(value) : DEFAULT_SPEED_PRESET;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      break;
  }
}

static void core_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  LpTranscodePriv* priv = LP_TRANSCODE_CORE(object)->priv;
  std::lock_guard lock(priv->settings_lock);
  const bool known = priv->engine != nullptr;
  switch (id) {
    case PROP_PROFILES:
      g_value_set_string(value, priv->profiles.c_str());
      break;
    case PROP_GPU:
      g_value_set_enum(value, priv->gpu);
      break;
    case PROP_SPEED_PRESET:
      g_value_set_string(value, priv->speed_preset.c_str());
      break;
    case PROP_DECODER:
      g_value_set_string(value, known && !priv->engine->decoder().empty()
                                    ? priv->engine->decoder().c_str()
                                    : nullptr);
      break;
    case PROP_ENCODER:
      g_value_set_string(value, known && !priv->engine->encoder().empty()
                                    ? priv->engine->encoder().c_str()
                                    : nullptr);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      break;
  }
}

static bool start(LpTranscodeCore* self) {
  LpTranscodePriv* priv = self->priv;
  lp::media::TranscodeEngine::Options opts;
  std::string spec;
  {
    std::lock_guard lock(priv->settings_lock);
    spec = priv->profiles;
    opts.gpu = priv->gpu == LP_TRANSCODE_GPU_ON    ? lp::media::GpuMode::on
               : priv->gpu == LP_TRANSCODE_GPU_OFF ? lp::media::GpuMode::off
                                                   : lp::media::GpuMode::automatic;
    opts.x264_preset = priv->speed_preset;
  }
  auto profiles = lp::media::parse_profiles(spec);
  if (!profiles) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Invalid profiles: %s", profiles.error().message.c_str()), (nullptr));
    return false;
  }
  opts.profiles = *profiles;
  priv->active_profiles = *profiles;
  std::lock_guard lock(priv->settings_lock);  // the engine is read by get_property
  priv->engine = std::make_unique<lp::media::TranscodeEngine>(std::move(opts));
  priv->next_out_seq = 0;
  priv->in_flight.clear();
  return true;
}

static GstStateChangeReturn core_change_state(GstElement* element,
                                              GstStateChange transition) noexcept {
  LpTranscodeCore* self = LP_TRANSCODE_CORE(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start(self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(lp_transcode_core_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::lock_guard lock(self->priv->settings_lock);
    self->priv->engine.reset();
  }
  return ret;
}

// The pad name for a request of "src_N" (N a profile index), or empty when the name is not
// one or the pad exists already.
static std::string new_src_pad_name(GstElement* element, const gchar* name, guint* index) {
  if (!name || sscanf(name, "src_%u", index) != 1) {
    GST_WARNING_OBJECT(element, "request src_N, where N is a profile's index");
    return {};
  }
  std::string pad_name = "src_" + std::to_string(*index);
  lp::gst::ObjectPtr<GstPad> existing(gst_element_get_static_pad(element, pad_name.c_str()));
  return existing ? std::string() : pad_name;
}

static GstPad* add_active_pad(GstElement* element, GstPad* pad) {
  gst_pad_set_active(pad, TRUE);
  gst_element_add_pad(element, pad);
  return pad;
}

static GstPad* core_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name,
                                    const GstCaps*) noexcept {
  guint index = 0;
  const std::string pad_name = new_src_pad_name(element, name, &index);
  if (pad_name.empty()) return nullptr;
  GstPad* pad = gst_pad_new_from_template(templ, pad_name.c_str());
  gst_pad_use_fixed_caps(pad);
  return add_active_pad(element, pad);
}

static void core_release_pad(GstElement* element, GstPad* pad) noexcept {
  gst_pad_set_active(pad, FALSE);
  gst_element_remove_pad(element, pad);
}

static std::vector<lp::gst::ObjectPtr<GstPad>> src_pads(GstElement* element) {
  std::vector<lp::gst::ObjectPtr<GstPad>> pads;
  GST_OBJECT_LOCK(element);
  for (GList* l = element->srcpads; l; l = l->next)
    pads.emplace_back(GST_PAD(gst_object_ref(l->data)));
  GST_OBJECT_UNLOCK(element);
  return pads;
}

static guint pad_index(GstPad* pad) {
  guint index = G_MAXUINT;
  if (sscanf(GST_PAD_NAME(pad), "src_%u", &index) != 1) return G_MAXUINT;
  return index;
}

/* Each source pad is its own stream: stream-start, caps and a time segment before its first data.
 */
static void ensure_stream(GstElement* element, GstPad* pad,
                          const lp::media::VideoProfile& profile) {
  if (gst_pad_has_current_caps(pad)) return;
  gchar* sid = gst_pad_create_stream_id(pad, element, profile.name.c_str());
  gst_pad_push_event(pad, gst_event_new_stream_start(sid));
  g_free(sid);
  GstCaps* caps = gst_static_pad_template_get_caps(&src_template);
  gst_pad_push_event(pad, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  gst_pad_push_event(pad, gst_event_new_segment(&seg));
}

// Pushes the renditions of one source segment, each on its profile's pad.
static GstFlowReturn push_renditions(LpTranscodeCore* self, GstBuffer* buf,
                                     std::vector<lp::media::Rendition>& out) {
  LpTranscodePriv* priv = self->priv;
  const LpSegmentMeta* sm = lp_buffer_get_segment_meta(buf);
  const guint64 seq = sm ? sm->seq : priv->next_out_seq;
  priv->next_out_seq = seq + 1;
  // OK when any pad took its rendition; NOT_LINKED only when none is linked; any other
  // failure (flushing, error, EOS) stops the stream.
  GstFlowReturn combined = GST_FLOW_NOT_LINKED;
  auto pads = src_pads(GST_ELEMENT(self));
  if (pads.empty()) return GST_FLOW_OK;  // nobody asked for a rendition yet
  for (auto& pad : pads) {
    const guint i = pad_index(pad.get());
    if (i >= out.size()) continue;  // a pad beyond the ladder gets nothing
    const lp::media::VideoProfile& p = priv->active_profiles[i];
    lp::media::Rendition& r = out[i];
    GstBuffer* b = gst_buffer_make_writable(gst_buffer_ref(r.ts.get()));
    GST_BUFFER_PTS(b) = GST_BUFFER_PTS(buf);
    GST_BUFFER_DTS(b) = GST_BUFFER_DTS(buf);
    GST_BUFFER_DURATION(b) = GST_BUFFER_DURATION(buf);
    LpRenditionMeta* rm =
        lp_buffer_add_rendition_meta(b, seq, p.name.c_str(), r.width, r.height, r.frames, r.pixels);
    rm->fps_n = p.fps;
    rm->fps_d = std::max(1, p.fps_den);
    if (sm)
      lp_buffer_add_segment_meta(b, sm->stream_id, sm->seq, sm->start_pts, sm->duration,
                                 sm->video_frames, sm->flags);
    ensure_stream(GST_ELEMENT(self), pad.get(), p);
    const GstFlowReturn ret = gst_pad_push(pad.get(), b);
    if (ret == GST_FLOW_NOT_LINKED) continue;
    if (ret != GST_FLOW_OK) return ret;
    combined = GST_FLOW_OK;
  }
  return combined;
}

// Collects the oldest segment in flight and pushes its renditions.
static GstFlowReturn finish_oldest(LpTranscodeCore* self) {
  LpTranscodePriv* priv = self->priv;
  lp::gst::BufferPtr in(priv->in_flight.front().release());
  priv->in_flight.pop_front();
  const LpSegmentMeta* sm = lp_buffer_get_segment_meta(in.get());
  const guint64 seq = sm ? sm->seq : priv->next_out_seq;
  std::vector<lp::media::Rendition> out;
  std::string error;
  if (!priv->engine->collect(&out, &error)) {
    GST_ELEMENT_ERROR(self, STREAM, DECODE,
                      ("Could not transcode segment %" G_GUINT64_FORMAT ": %s", seq, error.c_str()),
                      ("%s", error.c_str()));
    return GST_FLOW_ERROR;
  }
  GST_INFO_OBJECT(self, "segment %" G_GUINT64_FORMAT ": %zu renditions", seq, out.size());
  return push_renditions(self, in.get(), out);
}

// A segment is submitted to the engine at once; its renditions are pushed when the next one
// arrives (or at EOS), so that the decoder starts on a segment while the encoders finish the
// one before. At most two segments are in flight.
static GstFlowReturn core_chain(GstPad*, GstObject* parent, GstBuffer* buf) noexcept {
  LpTranscodeCore* self = LP_TRANSCODE_CORE(parent);
  LpTranscodePriv* priv = self->priv;
  lp::gst::BufferPtr in(buf);
  const LpSegmentMeta* sm = lp_buffer_get_segment_meta(buf);
  std::string error;
  if (!priv->engine->submit(buf, &error)) {
    // Segments already in flight are lost with the pipeline: the error stops the stream.
    GST_ELEMENT_ERROR(self, STREAM, DECODE,
                      ("Could not transcode segment %" G_GUINT64_FORMAT ": %s",
                       sm ? sm->seq : priv->next_out_seq, error.c_str()),
                      ("%s", error.c_str()));
    priv->in_flight.clear();
    return GST_FLOW_ERROR;
  }
  priv->in_flight.push_back(std::move(in));
  GstFlowReturn ret = GST_FLOW_OK;
  while (ret == GST_FLOW_OK && priv->in_flight.size() > 1) ret = finish_oldest(self);
  return ret;
}

static gboolean core_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) noexcept {
  LpTranscodeCore* self = LP_TRANSCODE_CORE(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_STREAM_START:
      // Each source pad has its own stream, caps and time segment (see ensure_stream).
      gst_event_unref(event);
      return TRUE;
    case GST_EVENT_EOS:
      while (!self->priv->in_flight.empty())
        if (finish_oldest(self) != GST_FLOW_OK) self->priv->in_flight.clear();
      for (auto& p : src_pads(GST_ELEMENT(self))) {
        if (auto i = pad_index(p.get()); i < self->priv->active_profiles.size())
          ensure_stream(GST_ELEMENT(self), p.get(), self->priv->active_profiles[i]);
        gst_pad_push_event(p.get(), gst_event_ref(event));
      }
      gst_event_unref(event);
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      // A flush drops the segments in flight with the pipeline they are in.
      self->priv->in_flight.clear();
      if (self->priv->engine) self->priv->engine->reset();
      return gst_pad_event_default(pad, parent, event);
    default:
      return gst_pad_event_default(pad, parent, event);
  }
}

/* ---- lptranscode: the bin ------------------------------------------------------------------ */

struct _LpTranscode {
  GstBin parent;
  GstElement* core;  // owned by the bin
};

G_DEFINE_TYPE(LpTranscode, lp_transcode, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE(lptranscode, "lptranscode", GST_RANK_NONE, LP_TYPE_TRANSCODE);

static void lp_transcode_set_property(GObject* object, guint, const GValue* value,
                                      GParamSpec* pspec) {
  g_object_set_property(G_OBJECT(LP_TRANSCODE(object)->core), pspec->name, value);
}

static void lp_transcode_get_property(GObject* object, guint, GValue* value, GParamSpec* pspec) {
  g_object_get_property(G_OBJECT(LP_TRANSCODE(object)->core), pspec->name, value);
}

/* src_N of the bin: a ghost of a queue fed by the core's src_N. */
static GstPad* lp_transcode_request_new_pad(GstElement* element, GstPadTemplate* templ,
                                            const gchar* name, const GstCaps*) noexcept {
  LpTranscode* self = LP_TRANSCODE(element);
  guint index = 0;
  const std::string pad_name = new_src_pad_name(element, name, &index);
  GstPad* core_src =
      pad_name.empty() ? nullptr : gst_element_request_pad_simple(self->core, pad_name.c_str());
  if (!core_src) return nullptr;
  gchar* queue_name = g_strdup_printf("queue_%u", index);
  GstElement* queue = gst_element_factory_make("queue", queue_name);
  g_free(queue_name);
  // Renditions are whole segments: a few of them, no byte or time limit.
  g_object_set(queue, "max-size-buffers", 4u, "max-size-bytes", 0u, "max-size-time",
               static_cast<guint64>(0), nullptr);
  gst_bin_add(GST_BIN(element), queue);
  lp::gst::ObjectPtr<GstPad> queue_sink(gst_element_get_static_pad(queue, "sink"));
  lp::gst::ObjectPtr<GstPad> queue_src(gst_element_get_static_pad(queue, "src"));
  gst_pad_link(core_src, queue_sink.get());
  gst_object_unref(core_src);
  GstPad* ghost = gst_ghost_pad_new_from_template(pad_name.c_str(), queue_src.get(), templ);
  gst_element_sync_state_with_parent(queue);
  return add_active_pad(element, ghost);
}

static void lp_transcode_release_pad(GstElement* element, GstPad* pad) noexcept {
  LpTranscode* self = LP_TRANSCODE(element);
  const guint index = pad_index(pad);
  lp::gst::ObjectPtr<GstPad> target(gst_ghost_pad_get_target(GST_GHOST_PAD(pad)));
  gst_pad_set_active(pad, FALSE);
  gst_element_remove_pad(element, pad);
  if (!target) return;
  lp::gst::ObjectPtr<GstElement> queue(gst_pad_get_parent_element(target.get()));
  gchar* core_name = g_strdup_printf("src_%u", index);
  lp::gst::ObjectPtr<GstPad> core_src(gst_element_get_static_pad(self->core, core_name));
  g_free(core_name);
  if (core_src) gst_element_release_request_pad(self->core, core_src.get());
  if (queue) {
    gst_element_set_state(queue.get(), GST_STATE_NULL);
    gst_bin_remove(GST_BIN(element), queue.get());
  }
}

static void lp_transcode_class_init(LpTranscodeClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = lp_transcode_set_property;
  gobject_class->get_property = lp_transcode_get_property;
  install_interface(gobject_class, element_class);
  gst_element_class_set_static_metadata(
      element_class, "Livepeer transcoder", "Codec/Transcoder",
      "Transcodes MPEG-TS segments into an H.264 ABR ladder, one rendition per profile",
      "livepeer-gst developers");
  element_class->request_new_pad = lp_transcode_request_new_pad;
  element_class->release_pad = lp_transcode_release_pad;
  GST_DEBUG_CATEGORY_INIT(lp_transcode_debug, "lptranscode", 0, "Livepeer transcoder");
  gst_type_mark_as_plugin_api(LP_TYPE_TRANSCODE_GPU, static_cast<GstPluginAPIFlags>(0));
}

static void lp_transcode_init(LpTranscode* self) {
  self->core =
      GST_ELEMENT(g_object_new(lp_transcode_core_get_type(), "name", "transcoder", nullptr));
  gst_bin_add(GST_BIN(self), self->core);
  lp::gst::ObjectPtr<GstPad> core_sink(gst_element_get_static_pad(self->core, "sink"));
  GstPad* ghost = gst_ghost_pad_new_from_template(
      "sink", core_sink.get(),
      gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), "sink"));
  gst_element_add_pad(GST_ELEMENT(self), ghost);
}
