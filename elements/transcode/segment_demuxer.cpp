// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/transcode/segment_demuxer.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <mutex>

namespace lp::media {

namespace {

struct Branches {
  std::mutex mu;
  std::vector<GstElement*> sinks;  // guarded by mu; owned by the pipeline
  GstElement* video_sink = nullptr;
  GstElement* audio_sink = nullptr;
  bool no_more_pads = false;
  bool input_done = false;  // tsdemux has seen all of the segment
};

GstPadProbeReturn on_demux_eos(GstPad*, GstPadProbeInfo* info, gpointer data) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    auto* b = static_cast<Branches*>(data);
    std::lock_guard lock(b->mu);
    b->input_done = true;
  }
  return GST_PAD_PROBE_OK;
}

GstElement* add_branch(GstBin* bin, GstPad* pad, const char* parser, const char* caps) {
  GstElement* parse = gst_element_factory_make(parser, nullptr);
  GstElement* filter = gst_element_factory_make("capsfilter", nullptr);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  if (!parse || !filter || !sink) {
    for (GstElement* e : {parse, filter, sink})
      if (e) gst_object_unref(e);
    return nullptr;
  }
  gst::CapsPtr c(gst_caps_from_string(caps));
  g_object_set(filter, "caps", c.get(), nullptr);
  // async=false: one tsdemux thread feeds every branch, so a sink waiting to preroll would
  // block the others' data (no queues here: the whole segment is in memory anyway).
  g_object_set(sink, "sync", FALSE, "async", FALSE, "wait-on-eos", FALSE, "max-buffers", 0u,
               nullptr);
  gst_bin_add_many(bin, parse, filter, sink, nullptr);
  gst_element_link_many(parse, filter, sink, nullptr);
  for (GstElement* e : {sink, filter, parse}) gst_element_sync_state_with_parent(e);
  gst::ObjectPtr<GstPad> sinkpad(gst_element_get_static_pad(parse, "sink"));
  if (gst_pad_link(pad, sinkpad.get()) != GST_PAD_LINK_OK) return nullptr;
  return sink;
}

void on_pad_added(GstElement* demux, GstPad* pad, gpointer data) {
  auto* b = static_cast<Branches*>(data);
  gst::CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const gchar* name = gst_structure_get_name(gst_caps_get_structure(caps.get(), 0));
  GstBin* bin = GST_BIN(GST_ELEMENT_PARENT(demux));
  std::lock_guard lock(b->mu);
  GstElement* sink = nullptr;
  if (g_str_equal(name, "video/x-h264") && !b->video_sink) {
    sink = b->video_sink =
        add_branch(bin, pad, "h264parse", "video/x-h264, stream-format=byte-stream, alignment=au");
  } else if (g_str_equal(name, "audio/mpeg") && !b->audio_sink) {
    sink = b->audio_sink =
        add_branch(bin, pad, "aacparse", "audio/mpeg, mpegversion=4, stream-format=adts");
  }
  if (sink) b->sinks.push_back(sink);
}

void on_no_more_pads(GstElement*, gpointer data) {
  auto* b = static_cast<Branches*>(data);
  std::lock_guard lock(b->mu);
  b->no_more_pads = true;
}

void drain(GstElement* sink, gst::CapsPtr* caps, std::vector<gst::BufferPtr>* out) {
  while (gst::SamplePtr s{gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0)}) {
    if (!*caps && gst_sample_get_caps(s.get()))
      caps->reset(gst_caps_ref(gst_sample_get_caps(s.get())));
    out->emplace_back(gst_buffer_ref(gst_sample_get_buffer(s.get())));
  }
}

}  // namespace

std::optional<std::uint64_t> first_video_pts_90k(GstBuffer* segment) {
  GstMapInfo map;
  if (!gst_buffer_map(segment, &map, GST_MAP_READ)) return std::nullopt;
  std::optional<std::uint64_t> best;
  for (gsize off = 0; off + 188 <= map.size; off += 188) {
    const guint8* p = map.data + off;
    if (p[0] != 0x47 || !(p[1] & 0x40)) continue;  // not a packet that starts a PES
    const int afc = (p[3] >> 4) & 0x3;
    if (afc == 2 || afc == 0) continue;  // no payload
    gsize pos = 4;
    if (afc == 3) pos += 1 + p[4];
    if (pos + 14 > 188) continue;
    const guint8* pes = p + pos;
    if (pes[0] != 0 || pes[1] != 0 || pes[2] != 1 || (pes[3] & 0xF0) != 0xE0)
      continue;                      // video PES only
    if (!(pes[7] & 0x80)) continue;  // no PTS
    const guint8* t = pes + 9;
    const std::uint64_t pts =
        (static_cast<std::uint64_t>(t[0] & 0x0E) << 29) | (static_cast<std::uint64_t>(t[1]) << 22) |
        (static_cast<std::uint64_t>(t[2] & 0xFE) << 14) | (static_cast<std::uint64_t>(t[3]) << 7) |
        (static_cast<std::uint64_t>(t[4]) >> 1);
    if (!best || pts < *best) best = pts;
  }
  gst_buffer_unmap(segment, &map);
  return best;
}

namespace {

/// tsdemux restarts time at each segment (every segment is a new stream to it). Put the
/// buffers back on the segment's own clock: the stream time that mpegtsmux, which writes
/// running time plus one hour, turns back into the same PTS values.
void restore_stream_time(GstBuffer* segment, DemuxedSegment* d) {
  const auto pts90k = first_video_pts_90k(segment);
  if (!pts90k) return;
  GstClockTime wanted = gst_util_uint64_scale(*pts90k, GST_SECOND, 90000);
  if (wanted >= kMpegTsMuxBase) wanted -= kMpegTsMuxBase;
  GstClockTime demuxed = GST_CLOCK_TIME_NONE;
  for (const auto& b : d->video)
    if (GST_BUFFER_PTS_IS_VALID(b.get())) demuxed = std::min(demuxed, GST_BUFFER_PTS(b.get()));
  if (!GST_CLOCK_TIME_IS_VALID(demuxed)) return;
  const GstClockTimeDiff shift = GST_CLOCK_DIFF(demuxed, wanted);
  auto move = [shift](GstClockTime t) {
    if (!GST_CLOCK_TIME_IS_VALID(t)) return t;
    const GstClockTimeDiff v = static_cast<GstClockTimeDiff>(t) + shift;
    return v < 0 ? GstClockTime{0} : static_cast<GstClockTime>(v);
  };
  for (auto* list : {&d->video, &d->audio}) {
    for (auto& b : *list) {
      GstBuffer* w = gst_buffer_make_writable(b.release());
      GST_BUFFER_PTS(w) = move(GST_BUFFER_PTS(w));
      GST_BUFFER_DTS(w) = move(GST_BUFFER_DTS(w));
      b.reset(w);
    }
  }
}

}  // namespace

std::optional<std::string> check_ts_framing(GstBuffer* segment) {
  const gsize size = gst_buffer_get_size(segment);
  if (size == 0) return std::string("the segment is empty");
  guint8 sync = 0;
  gst_buffer_extract(segment, 0, &sync, 1);
  if (sync != 0x47) return std::string("the segment is not MPEG-TS (no sync byte at its start)");
  if (size % 188 != 0)
    return "the segment is truncated: it ends " + std::to_string(size % 188) +
           " bytes into a 188-byte MPEG-TS packet";
  return std::nullopt;
}

bool SegmentDemuxer::demux(GstBuffer* segment, DemuxedSegment* out, std::string* error) {
  if (auto bad = check_ts_framing(segment)) {
    *error = *bad;
    return false;
  }
  gst::ObjectPtr<GstElement> pipeline(gst_pipeline_new(nullptr));
  GstElement* src = gst_element_factory_make("appsrc", nullptr);
  GstElement* demux = gst_element_factory_make("tsdemux", nullptr);
  if (!src || !demux) {
    *error = "tsdemux (gst-plugins-bad) is not installed";
    return false;
  }
  gst::CapsPtr ts_caps(gst_caps_from_string("video/mpegts, systemstream=(boolean)true"));
  g_object_set(src, "caps", ts_caps.get(), "format", GST_FORMAT_BYTES, nullptr);
  gst_bin_add_many(GST_BIN(pipeline.get()), src, demux, nullptr);
  gst_element_link(src, demux);
  Branches branches;
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_pad_added), &branches);
  g_signal_connect(demux, "no-more-pads", G_CALLBACK(on_no_more_pads), &branches);
  gst::ObjectPtr<GstPad> demux_sink(gst_element_get_static_pad(demux, "sink"));
  gst_pad_add_probe(demux_sink.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_demux_eos, &branches,
                    nullptr);

  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  gst_app_src_push_buffer(GST_APP_SRC(src), gst_buffer_ref(segment));
  gst_app_src_end_of_stream(GST_APP_SRC(src));

  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  bool ok = false;
  // A safety net against a demuxer that neither finishes nor fails; never reached in tests.
  const gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
  for (;;) {
    if (g_get_monotonic_time() > deadline) {
      *error = "demuxing the segment did not finish within 60 s";
      break;
    }
    // The bus says when something failed; the sinks say when everything arrived.
    gst::MessagePtr m(gst_bus_timed_pop_filtered(
        bus.get(), 20 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS)));
    if (m && GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gst_message_parse_error(m.get(), &err, nullptr);
      *error =
          std::string("the segment cannot be demuxed: ") + (err ? err->message : "unknown error");
      g_clear_error(&err);
      break;
    }
    std::lock_guard lock(branches.mu);
    // The pipeline's EOS means every branch's sink has all of its frames.
    if (m && GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_EOS && !branches.sinks.empty()) {
      ok = true;
      break;
    }
    if (branches.input_done && branches.sinks.empty()) {
      *error = "the segment has no H.264 video or AAC audio stream (is it MPEG-TS?)";
      break;
    }
  }
  if (ok) {
    std::lock_guard lock(branches.mu);
    if (branches.video_sink) drain(branches.video_sink, &out->video_caps, &out->video);
    if (branches.audio_sink) drain(branches.audio_sink, &out->audio_caps, &out->audio);
    if (out->video.empty()) {
      *error = "the segment has no H.264 video";
      ok = false;
    } else {
      restore_stream_time(segment, out);
    }
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return ok;
}

}  // namespace lp::media
