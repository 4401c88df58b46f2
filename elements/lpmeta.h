/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * LpSegmentFlags:
 * @LP_SEGMENT_FLAG_DISCONT: the segment starts after a discontinuity or a format change;
 *   players must not assume continuity with the previous one.
 * @LP_SEGMENT_FLAG_NO_KEYFRAME: the segment does not start with a keyframe (only the first
 *   segment of a stream that starts mid-GOP).
 */
typedef enum {
  LP_SEGMENT_FLAG_NONE = 0,
  LP_SEGMENT_FLAG_DISCONT = (1 << 0),
  LP_SEGMENT_FLAG_NO_KEYFRAME = (1 << 1),
} LpSegmentFlags;

/**
 * LpSegmentMeta:
 * @stream_id: the stream the segment belongs to (the manifest id of go-livepeer)
 * @seq: the segment's number in its stream, from 0
 * @start_pts: stream time of its first video frame
 * @duration: until the next segment's first frame (or the stream's end)
 * @video_frames: video frames in the segment
 * @flags: #LpSegmentFlags
 *
 * One whole media segment (an MPEG-TS buffer made by lpsegmenter).
 */
typedef struct {
  GstMeta meta;
  gchar* stream_id;
  guint64 seq;
  GstClockTime start_pts;
  GstClockTime duration;
  guint video_frames;
  LpSegmentFlags flags;
} LpSegmentMeta;

GType lp_segment_meta_api_get_type(void);
const GstMetaInfo* lp_segment_meta_get_info(void);
#define LP_SEGMENT_META_API_TYPE (lp_segment_meta_api_get_type())

LpSegmentMeta* lp_buffer_add_segment_meta(GstBuffer* buffer, const gchar* stream_id, guint64 seq,
                                          GstClockTime start_pts, GstClockTime duration,
                                          guint video_frames, LpSegmentFlags flags);
#define lp_buffer_get_segment_meta(b) \
  ((LpSegmentMeta*)gst_buffer_get_meta((b), LP_SEGMENT_META_API_TYPE))

/**
 * LpRenditionMeta:
 * @seq: the seq of the source segment
 * @profile: the profile's name (a go-livepeer preset name or a ladder entry's name)
 * @width: encoded width
 * @height: encoded height
 * @frames: encoded frames
 * @pixels: encoded pixels, frames x width x height: what an orchestrator charges for
 * @orchestrator: the orchestrator's address (0x hex), or %NULL when transcoded locally
 * @signature: the orchestrator's signature over the segment's renditions, or %NULL
 * @fps_n: the profile's frame rate numerator (0: the source's)
 * @fps_d: the profile's frame rate denominator
 *
 * One rendition of one segment (an MPEG-TS buffer made by lptranscode or received from an
 * orchestrator).
 */
typedef struct {
  GstMeta meta;
  guint64 seq;
  gchar* profile;
  gint width;
  gint height;
  guint frames;
  guint64 pixels;
  gchar* orchestrator;
  GBytes* signature;
  gint fps_n;
  gint fps_d;
} LpRenditionMeta;

GType lp_rendition_meta_api_get_type(void);
const GstMetaInfo* lp_rendition_meta_get_info(void);
#define LP_RENDITION_META_API_TYPE (lp_rendition_meta_api_get_type())

/* Adds a rendition meta; orchestrator, signature and the profile's frame rate are set
 * afterwards by whoever knows them. */
LpRenditionMeta* lp_buffer_add_rendition_meta(GstBuffer* buffer, guint64 seq, const gchar* profile,
                                              gint width, gint height, guint frames,
                                              guint64 pixels);
#define lp_buffer_get_rendition_meta(b) \
  ((LpRenditionMeta*)gst_buffer_get_meta((b), LP_RENDITION_META_API_TYPE))

G_END_DECLS
