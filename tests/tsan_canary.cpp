// SPDX-License-Identifier: LGPL-2.1-or-later
// The ThreadSanitizer pass's canary (tests/meson.build, the TSan build only): a deliberate data
// race between a pad probe, which libgstreamer (not instrumented) calls on a streaming thread, and
// the main thread. tests/tsan_canary_check.sh runs it and expects TSan to report this race, naming
// canary_probe: proof that the pass's options and suppressions (ignore_noninstrumented_modules,
// tests/tsan.supp, the GLib preload) still see races in the project's code when GStreamer calls it.
#include <gst/gst.h>

#include <atomic>
#include <cstdio>

namespace {

int g_unguarded = 0;           // written by both threads with nothing ordering them
std::atomic<int> g_probed{0};  // relaxed: tells the main thread when, orders nothing
std::atomic<int> g_written{0};

// Not static and not inlined: the report names it.
[[gnu::noinline]] void canary_probe_write() { g_unguarded = 1; }

GstPadProbeReturn canary_probe(GstPad*, GstPadProbeInfo*, gpointer) {
  if (g_probed.load(std::memory_order_relaxed) == 0) {
    canary_probe_write();
    g_probed.store(1, std::memory_order_relaxed);
    // Stay in the probe until the main thread has written: both accesses are then recent.
    while (g_written.load(std::memory_order_relaxed) == 0) {
    }
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  GError* error = nullptr;
  GstElement* pipeline =
      gst_parse_launch("fakesrc num-buffers=20 name=src ! fakesink sync=false", &error);
  if (!pipeline) {
    std::fprintf(stderr, "tsan-canary: %s\n", error ? error->message : "no pipeline");
    return 1;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstPad* pad = gst_element_get_static_pad(src, "src");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, canary_probe, nullptr, nullptr);
  gst_object_unref(pad);
  gst_object_unref(src);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  while (g_probed.load(std::memory_order_relaxed) == 0) {
  }
  g_unguarded = 2;  // the race: no lock, no happens-before with canary_probe_write
  g_written.store(1, std::memory_order_relaxed);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool eos = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  std::printf("tsan-canary: %s, value %d\n", eos ? "eos" : "no eos", g_unguarded);
  return eos ? 0 : 1;
}
