// SPDX-License-Identifier: LGPL-2.1-or-later
// Real clips through real pipelines, judged by ffprobe.
#pragma once

#include <gst/app/gstappsink.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/element/gst_env.h"

namespace lp::test {

struct ClipRun {
  std::vector<BufferRef> segments;
  std::vector<std::string> warnings;
  std::string error;
};

inline ClipRun segment_file(const std::string& path, bool with_audio) {
  std::string desc =
      "filesrc location=\"" + path + "\" ! tsdemux name=d d. ! queue ! h264parse ! seg.video " +
      (with_audio ? std::string("d. ! queue ! aacparse ! seg.audio ") : std::string()) +
      "lpsegmenter name=seg stream-id=clip ! appsink name=out sync=false wait-on-eos=false";
  GError* err = nullptr;
  ElementRef p(gst_parse_launch(desc.c_str(), &err));
  ClipRun run;
  if (!p) {
    run.error = err ? err->message : "parse failed";
    g_clear_error(&err);
    return run;
  }
  ElementRef sink(gst_bin_get_by_name(GST_BIN(p.get()), "out"));
  gst_element_set_state(p.get(), GST_STATE_PLAYING);
  BusRef bus(gst_element_get_bus(p.get()));
  for (;;) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus.get(), 120 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING));
    if (!m) {
      run.error = "timeout";
      break;
    }
    const GstMessageType t = GST_MESSAGE_TYPE(m);
    GError* e = nullptr;
    if (t == GST_MESSAGE_WARNING) {
      gst_message_parse_warning(m, &e, nullptr);
      run.warnings.push_back(e->message);
    } else if (t == GST_MESSAGE_ERROR) {
      gst_message_parse_error(m, &e, nullptr);
      run.error = e->message;
    }
    g_clear_error(&e);
    gst_message_unref(m);
    if (t != GST_MESSAGE_WARNING) break;
  }
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 0)) {
    run.segments.emplace_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    gst_sample_unref(s);
  }
  gst_element_set_state(p.get(), GST_STATE_NULL);
  return run;
}

inline std::string ffprobe(const std::string& args) {
  std::string cmd = "ffprobe -v error " + args;
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ',')) out.pop_back();
  return out;
}

inline void write(const std::string& path, GstBuffer* b) {
  GstMapInfo map;
  ASSERT_TRUE(gst_buffer_map(b, &map, GST_MAP_READ));
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(map.data), static_cast<std::streamsize>(map.size));
  gst_buffer_unmap(b, &map);
}

inline int count_frames(const std::string& file, const char* stream) {
  std::string s =
      ffprobe(std::string("-select_streams ") + stream +
              " -count_packets -show_entries stream=nb_read_packets -of csv=p=0 \"" + file + "\"");
  return s.empty() ? 0 : std::stoi(s);
}

/// A buffer's bytes.
inline std::string buffer_string(GstBuffer* b) {
  GstMapInfo map;
  if (!gst_buffer_map(b, &map, GST_MAP_READ)) return {};
  std::string s(reinterpret_cast<const char*>(map.data), map.size);
  gst_buffer_unmap(b, &map);
  return s;
}

/// An H.264 MPEG-TS segment of `frames` frames of a videotestsrc pattern (black, smpte, ball...):
/// what a cheating transcoder returns instead of the source's pictures.
inline std::string pattern_segment(const char* pattern, int width, int height, unsigned frames,
                                   const char* framerate = "30/1") {
  const std::string desc = "videotestsrc pattern=" + std::string(pattern) +
                           " num-buffers=" + std::to_string(frames) +
                           " ! video/x-raw,width=" + std::to_string(width) +
                           ",height=" + std::to_string(height) + ",framerate=" + framerate +
                           " ! x264enc speed-preset=ultrafast bframes=0 ! h264parse ! mpegtsmux ! "
                           "appsink name=out sync=false";
  GstElement* p = gst_parse_launch(desc.c_str(), nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  gst_element_set_state(p, GST_STATE_PLAYING);
  std::string out;
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    out += buffer_string(gst_sample_get_buffer(s));
    gst_sample_unref(s);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  return out;
}

}  // namespace lp::test
