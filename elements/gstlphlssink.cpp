// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-lphlssink
 * @title: lphlssink
 *
 * Writes HLS from whole segments: the buffer lists of lpremote-transcode or lpverify (the
 * source segment, then one buffer per rendition with an #LpRenditionMeta), or single segments
 * from lpsegmenter. In #LpHlsSink:location: `index.m3u8` (the multivariant playlist), and per
 * rendition `<profile>/index.m3u8` and `<profile>/<seq>.ts`. Media playlists keep the last
 * #LpHlsSink:playlist-length segments (0: all), get EXT-X-DISCONTINUITY after a skipped
 * segment and EXT-X-ENDLIST at EOS. Playlists are replaced atomically.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e filesrc location=in.ts ! tsdemux ! h264parse ! lpsegmenter \
 *   ! lpremote-transcode orchestrators=127.0.0.1:8935 ! lphlssink location=/srv/hls
 * playlist-length=6
 * ]|
 */
#include "elements/gstlphlssink.h"

#include <memory>
#include <mutex>
#include <string>

#include "elements/gateway/contracts.h"
#include "elements/gateway/hls_writer.h"
#include "elements/lpmeta.h"

GST_DEBUG_CATEGORY_STATIC(lp_hls_sink_debug);
#define GST_CAT_DEFAULT lp_hls_sink_debug

enum { PROP_0, PROP_LOCATION, PROP_PLAYLIST_LENGTH, PROP_INCLUDE_SOURCE };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true"));

struct LpHlsSinkPriv {
  std::mutex lock;
  std::string location = "hls";               // guarded by lock
  guint playlist_length = 6;                  // guarded by lock
  bool include_source = true;                 // guarded by lock
  std::unique_ptr<lp::gw::HlsWriter> writer;  // streaming thread, between start and stop
  bool with_source = true;
};

struct _LpHlsSink {
  GstBaseSink parent;
  LpHlsSinkPriv* priv;
};

G_DEFINE_TYPE(LpHlsSink, lp_hls_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE(lphlssink, "lphlssink", GST_RANK_NONE, LP_TYPE_HLS_SINK);

static gboolean lp_hls_sink_start(GstBaseSink* sink) noexcept {
  auto* self = LP_HLS_SINK(sink);
  std::lock_guard lock(self->priv->lock);
  self->priv->writer =
      std::make_unique<lp::gw::HlsWriter>(self->priv->location, self->priv->playlist_length);
  self->priv->with_source = self->priv->include_source;
  return TRUE;
}

static gboolean lp_hls_sink_stop(GstBaseSink* sink) noexcept {
  LP_HLS_SINK(sink)->priv->writer.reset();
  return TRUE;
}

static GstFlowReturn write_one(LpHlsSink* self, GstBuffer* buf) {
  const LpSegmentMeta* sm = lp_buffer_get_segment_meta(buf);
  const LpRenditionMeta* rm = lp_buffer_get_rendition_meta(buf);
  if (!sm && !rm) {
    GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE,
                      ("lphlssink takes whole segments (lpsegmenter, lpremote-transcode)"),
                      ("a buffer without a segment or rendition meta"));
    return GST_FLOW_ERROR;
  }
  if (!rm && !self->priv->with_source) return GST_FLOW_OK;
  const std::string name = rm ? rm->profile : "source";
  const guint64 seq = rm ? rm->seq : sm->seq;
  GstClockTime d =
      sm && GST_CLOCK_TIME_IS_VALID(sm->duration) ? sm->duration : GST_BUFFER_DURATION(buf);
  const double seconds = GST_CLOCK_TIME_IS_VALID(d) ? static_cast<double>(d) / GST_SECOND : 2.0;
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return GST_FLOW_ERROR;
  auto st =
      self->priv->writer->add(name, static_cast<std::int64_t>(seq),
                              std::string_view(reinterpret_cast<const char*>(map.data), map.size),
                              seconds, rm ? rm->width : 0, rm ? rm->height : 0);
  gst_buffer_unmap(buf, &map);
  if (!st) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("%s", st.error().message.c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  GST_LOG_OBJECT(self, "%s/%" G_GUINT64_FORMAT ".ts, %.3f s", name.c_str(), seq, seconds);
  return GST_FLOW_OK;
}

static GstFlowReturn lp_hls_sink_render(GstBaseSink* sink, GstBuffer* buffer) noexcept {
  return write_one(LP_HLS_SINK(sink), buffer);
}

static GstFlowReturn lp_hls_sink_render_list(GstBaseSink* sink, GstBufferList* list) noexcept {
  for (guint i = 0; i < gst_buffer_list_length(list); ++i)
    if (GstFlowReturn r = write_one(LP_HLS_SINK(sink), gst_buffer_list_get(list, i));
        r != GST_FLOW_OK)
      return r;
  return GST_FLOW_OK;
}

static gboolean lp_hls_sink_event(GstBaseSink* sink, GstEvent* event) noexcept {
  auto* self = LP_HLS_SINK(sink);
  if (lp::gw::is_custom_event(event, lp::gw::kSegmentSkippedEvent) && self->priv->writer) {
    self->priv->writer->discontinuity();
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && self->priv->writer) {
    if (auto st = self->priv->writer->finish(); !st)
      GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("%s", st.error().message.c_str()), (nullptr));
  }
  return GST_BASE_SINK_CLASS(lp_hls_sink_parent_class)->event(sink, event);
}

static void lp_hls_sink_finalize(GObject* object) {
  delete LP_HLS_SINK(object)->priv;
  G_OBJECT_CLASS(lp_hls_sink_parent_class)->finalize(object);
}

static void lp_hls_sink_set_property(GObject* object, guint id, const GValue* value,
                                     GParamSpec* pspec) {
  auto* self = LP_HLS_SINK(object);
  std::lock_guard lock(self->priv->lock);
  switch (id) {
    case PROP_LOCATION:
      self->priv->location = g_value_get_string(value) ? g_value_get_string(value) : "hls";
      break;
    case PROP_PLAYLIST_LENGTH:
      self->priv->playlist_length = g_value_get_uint(value);
      break;
    case PROP_INCLUDE_SOURCE:
      self->priv->include_source = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void lp_hls_sink_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  auto* self = LP_HLS_SINK(object);
  std::lock_guard lock(self->priv->lock);
  switch (id) {
    case PROP_LOCATION:
      g_value_set_string(value, self->priv->location.c_str());
      break;
    case PROP_PLAYLIST_LENGTH:
      g_value_set_uint(value, self->priv->playlist_length);
      break;
    case PROP_INCLUDE_SOURCE:
      g_value_set_boolean(value, self->priv->include_source);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void lp_hls_sink_class_init(LpHlsSinkClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass* sink_class = GST_BASE_SINK_CLASS(klass);
  gobject_class->finalize = lp_hls_sink_finalize;
  gobject_class->set_property = lp_hls_sink_set_property;
  gobject_class->get_property = lp_hls_sink_get_property;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "Directory the playlists and segments are written to", "hls", rw));
  g_object_class_install_property(
      gobject_class, PROP_PLAYLIST_LENGTH,
      g_param_spec_uint(
          "playlist-length", "Playlist length",
          "Segments per media playlist, a sliding window for live (0: all, an event playlist)", 0,
          G_MAXUINT, 6, rw));
  g_object_class_install_property(
      gobject_class, PROP_INCLUDE_SOURCE,
      g_param_spec_boolean("include-source", "Include source",
                           "Publish the source segments as a rendition named source", TRUE, rw));
  gst_element_class_set_static_metadata(
      element_class, "Livepeer HLS sink", "Sink/Network",
      "Writes a multivariant HLS playlist and one media playlist per rendition", "livepeer-gst");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  sink_class->start = lp_hls_sink_start;
  sink_class->stop = lp_hls_sink_stop;
  sink_class->render = lp_hls_sink_render;
  sink_class->render_list = lp_hls_sink_render_list;
  sink_class->event = lp_hls_sink_event;
  GST_DEBUG_CATEGORY_INIT(lp_hls_sink_debug, "lphlssink", 0, "Livepeer HLS sink");
}

static void lp_hls_sink_init(LpHlsSink* self) {
  self->priv = new LpHlsSinkPriv();
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
}
