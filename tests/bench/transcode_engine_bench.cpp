// SPDX-License-Identifier: LGPL-2.1-or-later
// The cost of a segment in the warm transcoding pipeline (one TranscodeEngine for the stream)
// against a pipeline built for every segment (a new TranscodeEngine each time), on the same
// segments in the same run. Prints JSON: per-segment medians in ms and their ratio.
// Usage: transcode_engine_bench CLIP LADDER [SPEED_PRESET] [ROUNDS]
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "elements/transcode/transcode_engine.h"
#include "plugins/livepeer/plugin.h"

namespace {

std::vector<lp::gst::BufferPtr> segment_clip(const std::string& path) {
  std::string desc =
      "filesrc location=\"" + path +
      "\" ! tsdemux name=d d. ! queue ! h264parse ! seg.video d. ! queue ! aacparse ! seg.audio "
      "lpsegmenter name=seg ! appsink name=out sync=false wait-on-eos=false";
  GError* err = nullptr;
  lp::gst::ObjectPtr<GstElement> p(gst_parse_launch(desc.c_str(), &err));
  if (!p) {
    std::fprintf(stderr, "cannot segment %s: %s\n", path.c_str(), err ? err->message : "?");
    g_clear_error(&err);
    return {};
  }
  lp::gst::ObjectPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(p.get()), "out"));
  gst_element_set_state(p.get(), GST_STATE_PLAYING);
  lp::gst::ObjectPtr<GstBus> bus(gst_element_get_bus(p.get()));
  lp::gst::MessagePtr m(
      gst_bus_timed_pop_filtered(bus.get(), 300 * GST_SECOND,
                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  std::vector<lp::gst::BufferPtr> out;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 0)) {
    out.emplace_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_element_set_state(p.get(), GST_STATE_NULL);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double ms_since(gint64 t0) { return static_cast<double>(g_get_monotonic_time() - t0) / 1000.0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CLIP LADDER [SPEED_PRESET] [ROUNDS]\n", argv[0]);
    return 2;
  }
  gst_init(nullptr, nullptr);
  lp_plugin_register_static();
  const std::string preset = argc > 3 ? argv[3] : "veryfast";
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 2;
  auto profiles = lp::media::parse_profiles(argv[2]);
  if (!profiles) {
    std::fprintf(stderr, "%s\n", profiles.error().message.c_str());
    return 2;
  }
  auto segments = segment_clip(argv[1]);
  if (segments.empty()) return 1;
  // Whole 2 s segments only (the last, short one would skew the medians).
  if (segments.size() > 2) segments.pop_back();
  std::vector<double> warm, cold;
  std::string error;
  for (int r = 0; r < rounds; ++r) {
    // Alternate the two within each round so that both see the same machine state.
    lp::media::TranscodeEngine engine({*profiles, lp::media::GpuMode::off, preset});
    for (std::size_t i = 0; i < segments.size(); ++i) {
      std::vector<lp::media::Rendition> out;
      gint64 t0 = g_get_monotonic_time();
      if (!engine.transcode(segments[i].get(), &out, &error))
        return std::fprintf(stderr, "%s\n", error.c_str()), 1;
      if (i > 0) warm.push_back(ms_since(t0));  // the first segment builds the pipeline
      t0 = g_get_monotonic_time();
      {
        lp::media::TranscodeEngine fresh({*profiles, lp::media::GpuMode::off, preset});
        if (!fresh.transcode(segments[i].get(), &out, &error))
          return std::fprintf(stderr, "%s\n", error.c_str()), 1;
      }
      cold.push_back(ms_since(t0));
    }
  }
  const double w = median(warm), c = median(cold);
  std::printf(
      "{\"segments\": %zu, \"rounds\": %d, \"warm_ms\": %.1f, \"per_segment_pipeline_ms\": %.1f, "
      "\"ratio\": %.3f}\n",
      segments.size(), rounds, w, c, w > 0 ? c / w : 0.0);
  return 0;
}
