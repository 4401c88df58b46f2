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

void segment_meta_free(GstMeta* meta, GstBuffer*) { g_free(reinterpret_cast<LpSegmentMeta*>(meta)->stream_id); }

gboolean segment_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer) {
  // A segment stays the same segment through copies; any other transform drops the meta.
  if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
  auto* m = reinterpret_cast<LpSegmentMeta*>(meta);
  return lp_buffer_add_segment_meta(dest, m->stream_id, m->seq, m->start_pts, m->duration, m->video_frames,
                                    m->flags) != nullptr;
}

}  // namespace

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
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* i = gst_meta_register(LP_SEGMENT_META_API_TYPE, "LpSegmentMeta", sizeof(LpSegmentMeta),
                                             segment_meta_init, segment_meta_free, segment_meta_transform);
    g_once_init_leave(&info, i);
  }
  return info;
}

LpSegmentMeta* lp_buffer_add_segment_meta(GstBuffer* buffer, const gchar* stream_id, guint64 seq,
                                          GstClockTime start_pts, GstClockTime duration, guint video_frames,
                                          LpSegmentFlags flags) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  auto* m = reinterpret_cast<LpSegmentMeta*>(gst_buffer_add_meta(buffer, lp_segment_meta_get_info(), nullptr));
  if (!m) return nullptr;
  m->stream_id = g_strdup(stream_id);
  m->seq = seq;
  m->start_pts = start_pts;
  m->duration = duration;
  m->video_frames = video_frames;
  m->flags = flags;
  return m;
}
