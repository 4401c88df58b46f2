// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/lpmeta.h"

namespace {

gboolean segment_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<LpSegmentMeta*>(meta);
  m->stream_id = nullptr;
  m->seq = 0;
  m->start_pts = GST_CLOCK_TIME_NONE;
  m->duration = GST_CLOCK_TIME_NONE;
  m->video_frames = 0;
  m->flags = LP_SEGMENT_FLAG_NONE;
  return TRUE;
}

void segment_meta_free(GstMeta* meta, GstBuffer*) {
  g_free(reinterpret_cast<LpSegmentMeta*>(meta)->stream_id);
}

gboolean segment_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer) {
  // A segment stays the same segment through copies; any other transform drops the meta.
  if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
  auto* m = reinterpret_cast<LpSegmentMeta*>(meta);
  return lp_buffer_add_segment_meta(dest, m->stream_id, m->seq, m->start_pts, m->duration,
                                    m->video_frames, m->flags) != nullptr;
}

gboolean rendition_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<LpRenditionMeta*>(meta);
  m->seq = 0;
  m->profile = nullptr;
  m->width = m->height = 0;
  m->frames = 0;
  m->pixels = 0;
  m->orchestrator = nullptr;
  m->signature = nullptr;
  m->fps_n = 0;
  m->fps_d = 1;
  return TRUE;
}

void rendition_meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<LpRenditionMeta*>(meta);
  g_free(m->profile);
  g_free(m->orchestrator);
  if (m->signature) g_bytes_unref(m->signature);
}

gboolean rendition_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type,
                                  gpointer) {
  if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
  auto* m = reinterpret_cast<LpRenditionMeta*>(meta);
  LpRenditionMeta* d = lp_buffer_add_rendition_meta(dest, m->seq, m->profile, m->width, m->height,
                                                    m->frames, m->pixels);
  if (!d) return FALSE;
  d->orchestrator = g_strdup(m->orchestrator);
  d->signature = m->signature ? g_bytes_ref(m->signature) : nullptr;
  d->fps_n = m->fps_n;
  d->fps_d = m->fps_d;
  return TRUE;
}

template <class Info>
const GstMetaInfo* register_once(const GstMetaInfo** slot, Info&& make) {
  if (g_once_init_enter(slot)) g_once_init_leave(slot, make());
  return *slot;
}

}  // namespace

GType lp_rendition_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {nullptr};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("LpRenditionMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo* lp_rendition_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  return register_once(&info, [] {
    return gst_meta_register(LP_RENDITION_META_API_TYPE, "LpRenditionMeta", sizeof(LpRenditionMeta),
                             rendition_meta_init, rendition_meta_free, rendition_meta_transform);
  });
}

LpRenditionMeta* lp_buffer_add_rendition_meta(GstBuffer* buffer, guint64 seq, const gchar* profile,
                                              gint width, gint height, guint frames,
                                              guint64 pixels) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  auto* m = reinterpret_cast<LpRenditionMeta*>(
      gst_buffer_add_meta(buffer, lp_rendition_meta_get_info(), nullptr));
  if (!m) return nullptr;
  m->seq = seq;
  m->profile = g_strdup(profile);
  m->width = width;
  m->height = height;
  m->frames = frames;
  m->pixels = pixels;
  return m;
}

GType lp_segment_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {nullptr};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("LpSegmentMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo* lp_segment_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  return register_once(&info, [] {
    return gst_meta_register(LP_SEGMENT_META_API_TYPE, "LpSegmentMeta", sizeof(LpSegmentMeta),
                             segment_meta_init, segment_meta_free, segment_meta_transform);
  });
}

LpSegmentMeta* lp_buffer_add_segment_meta(GstBuffer* buffer, const gchar* stream_id, guint64 seq,
                                          GstClockTime start_pts, GstClockTime duration,
                                          guint video_frames, LpSegmentFlags flags) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  auto* m = reinterpret_cast<LpSegmentMeta*>(
      gst_buffer_add_meta(buffer, lp_segment_meta_get_info(), nullptr));
  if (!m) return nullptr;
  m->stream_id = g_strdup(stream_id);
  m->seq = seq;
  m->start_pts = start_pts;
  m->duration = duration;
  m->video_frames = video_frames;
  m->flags = flags;
  return m;
}
