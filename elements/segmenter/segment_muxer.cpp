// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/segmenter/segment_muxer.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/base/gstadapter.h>

#include <memory>

namespace lp::media {

SegmentMuxer::~SegmentMuxer() { teardown(); }

void SegmentMuxer::teardown() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  pipeline_.reset();
  vsrc_ = asrc_ = sink_ = nullptr;
}

bool SegmentMuxer::build(bool with_audio, std::string* error) {
  teardown();
  GError* err = nullptr;
  // Only fixed element names and properties here: nothing from users reaches this string.
  const char* desc =
      with_audio ? "appsrc name=v format=time ! mpegtsmux name=m ! appsink name=out sync=false "
                   "appsrc name=a format=time ! m."
                 : "appsrc name=v format=time ! mpegtsmux ! appsink name=out sync=false";
  GstElement* p = gst_parse_launch_full(desc, nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (!p) {
    *error =
        std::string(
            "cannot build the segment muxer (is mpegtsmux from gst-plugins-bad installed?): ") +
        (err ? err->message : "unknown error");
    g_clear_error(&err);
    return false;
  }
  pipeline_.reset(p);
  GstBin* bin = GST_BIN(p);
  vsrc_ = gst_bin_get_by_name(bin, "v");
  asrc_ = with_audio ? gst_bin_get_by_name(bin, "a") : nullptr;
  sink_ = gst_bin_get_by_name(bin, "out");
  // The bin keeps them alive; drop the extra references gst_bin_get_by_name gave us.
  for (GstElement* e : {vsrc_, asrc_, sink_})
    if (e) gst_object_unref(e);
  for (GstElement* src : {vsrc_, asrc_}) {
    if (!src) continue;
    g_object_set(src, "max-bytes", static_cast<guint64>(0), "block", FALSE, nullptr);
  }
  return true;
}

GstBuffer* SegmentMuxer::mux(GstCaps* video_caps, const std::vector<gst::BufferPtr>& video,
                             GstCaps* audio_caps, const std::vector<gst::BufferPtr>& audio,
                             std::string* error) {
  const bool with_audio = audio_caps && !audio.empty();
  // A fresh muxer per segment: every segment starts with its own PAT/PMT and counters, and a
  // failure in one segment cannot leak into the next. It costs about a millisecond.
  if (!build(with_audio, error)) return nullptr;
  gst_app_src_set_caps(GST_APP_SRC(vsrc_), video_caps);
  if (with_audio) gst_app_src_set_caps(GST_APP_SRC(asrc_), audio_caps);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "the segment muxer failed to start";
    teardown();
    return nullptr;
  }
  for (const auto& b : video) gst_app_src_push_buffer(GST_APP_SRC(vsrc_), gst_buffer_ref(b.get()));
  gst_app_src_end_of_stream(GST_APP_SRC(vsrc_));
  if (with_audio) {
    for (const auto& b : audio)
      gst_app_src_push_buffer(GST_APP_SRC(asrc_), gst_buffer_ref(b.get()));
    gst_app_src_end_of_stream(GST_APP_SRC(asrc_));
  }

  // Joined once at the end: gst_buffer_append() past 16 memories copies the whole segment on
  // every append (quadratic; minutes per segment under ThreadSanitizer).
  std::unique_ptr<GstAdapter, decltype(&g_object_unref)> adapter(gst_adapter_new(), g_object_unref);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  bool failed = false;
  for (;;) {
    gst::SamplePtr s(gst_app_sink_try_pull_sample(GST_APP_SINK(sink_), 50 * GST_MSECOND));
    if (s) {
      gst_adapter_push(adapter.get(), gst_buffer_ref(gst_sample_get_buffer(s.get())));
      continue;
    }
    if (gst_app_sink_is_eos(GST_APP_SINK(sink_))) break;
    gst::MessagePtr m(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
    if (m) {
      GError* err = nullptr;
      gst_message_parse_error(m.get(), &err, nullptr);
      *error = std::string("muxing the segment failed: ") + (err ? err->message : "unknown error");
      g_clear_error(&err);
      failed = true;
      break;
    }
  }
  teardown();
  if (failed) return nullptr;
  // A fresh buffer, as before: none of the muxer's flags or timestamps carry over.
  const gsize size = gst_adapter_available(adapter.get());
  GstBuffer* out = gst_buffer_new_allocate(nullptr, size, nullptr);
  if (size) {
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_WRITE);
    gst_adapter_copy(adapter.get(), map.data, 0, size);
    gst_buffer_unmap(out, &map);
  }
  return out;
}

}  // namespace lp::media
