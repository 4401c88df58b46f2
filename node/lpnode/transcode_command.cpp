// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode transcode`: a file through lpsegmenter and lptranscode, renditions on disk.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "elements/common/eos_sender.h"
#include "elements/common/gst_ptr.h"
#include "elements/lpmeta.h"
#include "elements/transcode/profiles.h"
#include "node/lpnode/cli_util.h"
#include "plugins/livepeer/plugin.h"

namespace lp::node {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::atomic<int> g_interrupts{0};  // lock-free: safe to touch in a signal handler

// After the first signal: how long the segment in progress may take to finish, and how long
// the pipeline may take to stop after that; together well under the 5 s a signal may take.
constexpr gint64 kStopGrace = 2 * G_TIME_SPAN_SECOND;
constexpr auto kTeardownLimit = std::chrono::milliseconds(1500);

const char* kTranscodeHelp = R"(Usage: lpnode transcode --input FILE --out DIR [flags]

Transcodes a video file into a Livepeer ABR ladder the way an orchestrator does: the input is
cut into segments at keyframes (lpsegmenter), and every segment is transcoded into every
profile of the ladder by one warm decode/scale/encode pipeline (lptranscode). Renditions are
written as DIR/<profile>/<seq>.ts; DIR/summary.json (also printed on stdout) lists every
segment and rendition with its frames, duration and encoded pixels. A progress line per
segment goes to stderr, with the speed as a multiple of real time.

The input is any container GStreamer can parse (MPEG-TS, MP4, MKV, FLV) with H.264 video;
AAC audio is copied into every rendition, other audio is left out with a warning.

Flags:
  --input FILE          the video file (env LP_INPUT)
  --out DIR             where renditions and summary.json go; created if missing (env LP_OUT)
  --profiles LIST|FILE  go-livepeer preset names separated by commas, ladder JSON, or a .json
                        ladder file (default P240p30fps16x9,P360p30fps16x9, go-livepeer's
                        default; pipelines/ladders/ has the Livepeer reference ladder)
  --gpu auto|on|off     NVIDIA nvcodec elements: auto uses each of nvh264dec and nvh264enc
                        when registered, on requires NVIDIA decoding, off is CPU only
                        (default auto)
  --segment-duration S  target segment length in seconds, cut at the next keyframe (default 2)
  --speed-preset P      x264 speed preset for CPU encoding, ultrafast ... veryslow (default veryfast)

The input may also be a named pipe (FIFO), read as it is written.

Ctrl-C (or SIGTERM) stops early but cleanly: the segment being cut is finished and
transcoded, and the summary lists everything written (exit 0). When that takes more than
2 s, or on a second Ctrl-C, the run stops at once (exit 1); the process always ends within
5 s of the first signal.

Exit status: 0 when every segment was transcoded, 1 when the input cannot be transcoded
(not a video, no H.264, no video frames, corrupt beyond use, truncated), 2 for bad flags.

Examples:
  lpnode transcode --input live.ts --out out --profiles pipelines/ladders/livepeer-reference.json
  lpnode transcode --input talk.mp4 --out out --profiles P720p30fps16x9,P360p30fps16x9 --gpu off
)";

struct RenditionRecord {
  std::string file;
  int width = 0;
  int height = 0;
  unsigned frames = 0;
  std::uint64_t pixels = 0;
  std::size_t bytes = 0;
  bool present = false;
};

struct SegmentRecord {
  GstClockTime start = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  unsigned frames = 0;
  std::vector<RenditionRecord> renditions;
  std::size_t done = 0;
};

/// What the appsinks' streaming threads record; the main thread reads it after the run.
struct Run {
  std::mutex mu;
  fs::path out;
  std::vector<media::VideoProfile> profiles;
  std::map<std::uint64_t, SegmentRecord> segments;  // guarded by mu
  std::string error;                                // guarded by mu
  gint64 started = 0;
  gint64 last_done = 0;      // guarded by mu
  double media_seconds = 0;  // guarded by mu
};

struct Sink {
  Run* run;
  std::size_t index;
};

double seconds(GstClockTime t) {
  return GST_CLOCK_TIME_IS_VALID(t) ? static_cast<double>(t) / GST_SECOND : 0.0;
}

// Called in the rendition pad's streaming thread: writes the rendition, prints the segment's
// progress line once all of its renditions are in.
GstFlowReturn on_sample(GstAppSink* sink, gpointer data) noexcept {
  auto* s = static_cast<Sink*>(data);
  Run& run = *s->run;
  gst::SamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  const LpRenditionMeta* rm = lp_buffer_get_rendition_meta(buf);
  const LpSegmentMeta* sm = lp_buffer_get_segment_meta(buf);
  if (!rm || !sm) return GST_FLOW_ERROR;
  const media::VideoProfile& profile = run.profiles[s->index];
  RenditionRecord r;
  r.file = profile.name + "/" + std::to_string(rm->seq) + ".ts";
  r.width = rm->width;
  r.height = rm->height;
  r.frames = rm->frames;
  r.pixels = rm->pixels;
  r.bytes = gst_buffer_get_size(buf);
  r.present = true;
  GstMapInfo map;
  bool written = false;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    std::ofstream f(run.out / r.file, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(map.data), static_cast<std::streamsize>(map.size));
    written = static_cast<bool>(f);
    gst_buffer_unmap(buf, &map);
  }
  std::lock_guard lock(run.mu);
  if (!written) {
    if (run.error.empty()) run.error = "cannot write " + (run.out / r.file).string();
    return GST_FLOW_ERROR;
  }
  SegmentRecord& seg = run.segments[rm->seq];
  if (seg.renditions.empty()) seg.renditions.resize(run.profiles.size());
  seg.start = sm->start_pts;
  seg.duration = sm->duration;
  seg.frames = sm->video_frames;
  seg.renditions[s->index] = r;
  if (++seg.done == run.profiles.size()) {
    const gint64 now = g_get_monotonic_time();
    const double wall = static_cast<double>(now - run.last_done) / G_USEC_PER_SEC;
    run.last_done = now;
    const double dur = seconds(seg.duration);
    run.media_seconds += dur;
    const double total_wall = static_cast<double>(now - run.started) / G_USEC_PER_SEC;
    std::fprintf(stderr,
                 "lpnode transcode: segment %" G_GUINT64_FORMAT
                 ": %.3f s, %u frames, %zu renditions in %.2f s "
                 "(%.2fx real time; %.1f s so far at %.2fx)\n",
                 rm->seq, dur, seg.frames, run.profiles.size(), wall, wall > 0 ? dur / wall : 0.0,
                 run.media_seconds, total_wall > 0 ? run.media_seconds / total_wall : 0.0);
  }
  return GST_FLOW_OK;
}

std::string missing(const char* factory) {
  return std::string("GStreamer element '") + factory + "' is not installed (run scripts/setup.sh)";
}

GstElement* make(const char* factory, const char* name = nullptr) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (!e) throw std::runtime_error(missing(factory));
  return e;
}

/// The input side: filesrc ! parsebin, whose pads are linked as they appear.
struct Input {
  GstElement* pipeline = nullptr;
  GstElement* segmenter = nullptr;
  // Set in parsebin's streaming thread when it exposes its pads (all at once, before any of
  // them ends); read there too when one of them ends.
  std::atomic<bool> video{false};
  std::atomic<bool> no_video_posted{false};
  std::string refused;
};

void post_error(GstElement* from, const std::string& message) {
  GError* err =
      g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_CODEC_NOT_FOUND, message.c_str());
  gst_element_post_message(from, gst_message_new_error(GST_OBJECT(from), err, nullptr));
  g_error_free(err);
}

// Links a chain of new elements between a parsebin pad and a target pad. Runs in parsebin's
// streaming thread: reports failures, never throws.
bool link_chain(GstBin* bin, GstPad* from, std::vector<GstElement*> chain, GstPad* to) {
  for (GstElement* e : chain) {
    if (e) continue;
    for (GstElement* other : chain)
      if (other) gst_object_unref(gst_object_ref_sink(other));
    return false;
  }
  for (GstElement* e : chain) gst_bin_add(bin, e);
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (!gst_element_link(chain[i - 1], chain[i])) return false;
  gst::ObjectPtr<GstPad> first(gst_element_get_static_pad(chain.front(), "sink"));
  gst::ObjectPtr<GstPad> last(gst_element_get_static_pad(chain.back(), "src"));
  if (to && gst_pad_link(last.get(), to) != GST_PAD_LINK_OK) return false;
  for (GstElement* e : chain) gst_element_sync_state_with_parent(e);
  return gst_pad_link(from, first.get()) == GST_PAD_LINK_OK;
}

GstElement* capsfilter(const char* caps) {
  GstElement* f = gst_element_factory_make("capsfilter", nullptr);
  if (!f) return nullptr;
  gst::CapsPtr c(gst_caps_from_string(caps));
  g_object_set(f, "caps", c.get(), nullptr);
  return f;
}

GstElement* element(const char* factory) { return gst_element_factory_make(factory, nullptr); }

// parsebin (1.22) never emits no-more-pads, so the end of a stream is where an input without
// video shows: parsebin exposes every stream before any of them ends. Without this, an input
// whose only streams are not AAC (or that have nowhere to go) would leave lpsegmenter's video
// pad waiting forever.
GstPadProbeReturn on_parsed_eos(GstPad* pad, GstPadProbeInfo* info, gpointer data) noexcept {
  auto* in = static_cast<Input*>(data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
  if (!in->video && in->refused.empty() && !in->no_video_posted.exchange(true)) {
    gst::ObjectPtr<GstElement> parsebin(gst_pad_get_parent_element(pad));
    post_error(parsebin ? parsebin.get() : in->pipeline,
               "no video frames in the input: it has no H.264 video stream");
  }
  return GST_PAD_PROBE_REMOVE;
}

void on_parsed_pad(GstElement* parsebin, GstPad* pad, gpointer data) noexcept {
  auto* in = static_cast<Input*>(data);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_parsed_eos, in, nullptr);
  GstBin* bin = GST_BIN(in->pipeline);
  gst::CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  const GstStructure* st = gst_caps_get_structure(caps.get(), 0);
  const std::string name = gst_structure_get_name(st);
  gst::CapsPtr aac(gst_caps_from_string("audio/mpeg, mpegversion=(int){2,4}"));
  if (name == "video/x-h264" && !in->video) {
    in->video = true;
    gst::ObjectPtr<GstPad> target(gst_element_get_static_pad(in->segmenter, "video"));
    if (!link_chain(bin, pad,
                    {element("queue"), element("h264parse"),
                     capsfilter("video/x-h264, stream-format=byte-stream, alignment=au")},
                    target.get()))
      post_error(parsebin,
                 "cannot link the input's H.264 video (are gst-plugins-bad's parsers installed?)");
    return;
  }
  if (gst_caps_can_intersect(caps.get(), aac.get())) {
    GstPad* target = gst_element_request_pad_simple(in->segmenter, "audio");
    const bool ok =
        target && link_chain(bin, pad,
                             {element("queue"), element("aacparse"),
                              capsfilter("audio/mpeg, mpegversion=4, stream-format=adts")},
                             target);
    if (target) gst_object_unref(target);
    if (!ok) post_error(parsebin, "cannot link the input's AAC audio");
    return;
  }
  if (g_str_has_prefix(name.c_str(), "video/") && !in->video) {
    // The first video stream decides: a non-H.264 one is refused, not skipped.
    in->refused = name;
    post_error(parsebin, "the input's video is " + name + "; lpnode transcode takes H.264 video");
  } else if (g_str_has_prefix(name.c_str(), "audio/")) {
    std::fprintf(stderr,
                 "lpnode transcode: warning: audio %s is not AAC; renditions have no audio\n",
                 name.c_str());
  }
  GstElement* sink = element("fakesink");
  if (sink) g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  link_chain(bin, pad, {element("queue"), sink}, nullptr);
}

bool valid_profile_name(const std::string& n) {
  if (n.empty() || n == "." || n == "..") return false;
  for (char c : n)
    if (!g_ascii_isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

json summary_json(Run& run, const std::string& input, const std::string& decoder,
                  const std::string& encoder, double wall) {
  json profiles = json::array();
  for (const auto& p : run.profiles)
    profiles.push_back({{"name", p.name},
                        {"width", p.width},
                        {"height", p.height},
                        {"bitrate", p.bitrate},
                        {"fps", p.fps},
                        {"fpsDen", p.fps_den}});
  json segments = json::array();
  std::uint64_t pixels = 0;
  for (const auto& [seq, seg] : run.segments) {
    json renditions = json::array();
    for (std::size_t i = 0; i < seg.renditions.size(); ++i) {
      const RenditionRecord& r = seg.renditions[i];
      if (!r.present) continue;
      pixels += r.pixels;
      renditions.push_back({{"profile", run.profiles[i].name},
                            {"file", r.file},
                            {"width", r.width},
                            {"height", r.height},
                            {"frames", r.frames},
                            {"pixels", r.pixels},
                            {"bytes", r.bytes}});
    }
    segments.push_back({{"seq", seq},
                        {"start", seconds(seg.start)},
                        {"duration", seconds(seg.duration)},
                        {"frames", seg.frames},
                        {"renditions", renditions}});
  }
  return {{"input", input},
          {"decoder", decoder},
          {"encoder", encoder},
          {"profiles", profiles},
          {"segments", segments},
          {"totals",
           {{"segments", run.segments.size()},
            {"duration", run.media_seconds},
            {"pixels", pixels},
            {"wallSeconds", wall},
            {"speed", wall > 0 ? run.media_seconds / wall : 0.0}}}};
}

}  // namespace

int transcode_main(const std::vector<std::string>& argv) {
  const std::string cmd = "transcode";
  Args args(argv, {"input", "out", "profiles", "gpu", "segment-duration", "speed-preset"},
            {"help"});
  if (args.flag("help")) {
    std::cout << kTranscodeHelp;
    return kExitOk;
  }
  if (!args.error().empty())
    return fail(cmd, args.error() + " (see lpnode transcode --help)", kExitUsage);
  if (!args.positional().empty())
    return fail(cmd, "unexpected argument '" + args.positional()[0] + "'", kExitUsage);
  const auto input = args.get("input");
  const auto out = args.get("out");
  if (!input || !out)
    return fail(cmd, "--input and --out are required (see lpnode transcode --help)", kExitUsage);
  std::error_code ec;
  const bool regular = fs::is_regular_file(*input, ec);
  if (!regular && !fs::is_fifo(*input, ec))
    return fail(cmd, "--input " + *input + ": no such file", kExitUsage);

  // A file cut off mid-packet: the segments before the cut are transcoded and kept, and the
  // run fails. (tsdemux itself drops a partial last packet without a word.) A pipe is not
  // read ahead: what it holds is the input.
  std::string truncated;
  if (std::ifstream f{regular ? *input : std::string(), std::ios::binary}) {
    char head[189] = {};
    f.read(head, sizeof head);
    const auto size = fs::file_size(*input, ec);
    if (!ec && f.gcount() == sizeof head && head[0] == 0x47 && head[188] == 0x47 && size % 188 != 0)
      truncated = "the input is truncated: it ends " + std::to_string(size % 188) +
                  " bytes into a 188-byte MPEG-TS packet";
  }

  Run run;
  auto profiles =
      media::parse_profiles(args.get("profiles").value_or("P240p30fps16x9,P360p30fps16x9"));
  if (!profiles) return fail(cmd, "--profiles: " + profiles.error().message, kExitUsage);
  run.profiles = *profiles;
  for (const auto& p : run.profiles)
    if (!valid_profile_name(p.name))
      return fail(cmd,
                  "--profiles: profile name '" + p.name + "' is not usable as a directory name",
                  kExitUsage);
  const std::string gpu = args.get("gpu").value_or("auto");
  if (gpu != "auto" && gpu != "on" && gpu != "off")
    return fail(cmd, "--gpu must be auto, on or off", kExitUsage);
  double segment_seconds = 2.0;
  if (auto v = args.get("segment-duration")) {
    char* end = nullptr;
    segment_seconds = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || !(segment_seconds >= 0.1 && segment_seconds <= 3600))
      return fail(cmd, "--segment-duration must be a number of seconds from 0.1 to 3600",
                  kExitUsage);
  }
  const std::string preset = args.get("speed-preset").value_or("veryfast");

  run.out = *out;
  for (const auto& p : run.profiles) {
    fs::create_directories(run.out / p.name, ec);
    if (ec)
      return fail(cmd, "cannot create " + (run.out / p.name).string() + ": " + ec.message(),
                  kExitFailed);
  }

  gst_init(nullptr, nullptr);
  lp_plugin_register_static();

  Input in;
  std::vector<std::unique_ptr<Sink>> sinks;
  GstElement* transcoder = nullptr;
  gst::ObjectPtr<GstElement> pipeline(gst_pipeline_new("lpnode-transcode"));
  try {
    in.pipeline = pipeline.get();
    GstElement* src = make("filesrc");
    g_object_set(src, "location", input->c_str(), nullptr);
    GstElement* parse = make("parsebin");
    in.segmenter = make("lpsegmenter", "segmenter");
    g_object_set(in.segmenter, "target-duration",
                 static_cast<guint64>(std::llround(segment_seconds * GST_SECOND)), "stream-id",
                 fs::path(*input).stem().string().c_str(), nullptr);
    transcoder = make("lptranscode", "transcoder");
    g_object_set(transcoder, "profiles",
                 args.get("profiles").value_or("P240p30fps16x9,P360p30fps16x9").c_str(),
                 "speed-preset", preset.c_str(), nullptr);
    gst_util_set_object_arg(G_OBJECT(transcoder), "gpu", gpu.c_str());
    gst_bin_add_many(GST_BIN(pipeline.get()), src, parse, in.segmenter, transcoder, nullptr);
    if (!gst_element_link(src, parse) || !gst_element_link(in.segmenter, transcoder))
      throw std::runtime_error("cannot link the pipeline");
    g_signal_connect(parse, "pad-added", G_CALLBACK(on_parsed_pad), &in);
    for (std::size_t i = 0; i < run.profiles.size(); ++i) {
      GstElement* sink = make("appsink");
      g_object_set(sink, "sync", FALSE, "max-buffers", 0u, nullptr);
      sinks.push_back(std::make_unique<Sink>(Sink{&run, i}));
      GstAppSinkCallbacks callbacks{};
      callbacks.new_sample = on_sample;
      gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, sinks.back().get(), nullptr);
      gst_bin_add(GST_BIN(pipeline.get()), sink);
      const std::string pad = "src_" + std::to_string(i);
      if (!gst_element_link_pads(transcoder, pad.c_str(), sink, "sink"))
        throw std::runtime_error("cannot link rendition pad " + pad);
    }
  } catch (const std::exception& e) {
    return fail(cmd, e.what(), kExitFailed);
  }

  run.started = run.last_done = g_get_monotonic_time();
  std::string error;
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    error = "the pipeline failed to start";
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  // Ctrl-C (or SIGTERM) ends the input early: EOS from the source, so the segment being cut
  // is finished, transcoded and written like the others, and the summary lists them all. A
  // second signal, or kStopGrace without the end of the stream, stops at once: the source may
  // be blocked in a read that never returns (a pipe nobody writes), or a segment may take long.
  g_interrupts = 0;
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupts.fetch_add(1); };
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  bool stopping = false;
  gint64 stop_deadline = 0;
  std::future<void> eos_sent;
  while (error.empty()) {
    gst::MessagePtr m(gst_bus_timed_pop_filtered(
        bus.get(), 100 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING)));
    if (g_interrupts > 1) {
      error = "interrupted";
      break;
    }
    if (stopping && g_get_monotonic_time() > stop_deadline) {
      error = "stopped: the segment in progress did not finish within " +
              std::to_string(kStopGrace / G_TIME_SPAN_SECOND) + " s of the signal";
      break;
    }
    if (g_interrupts == 1 && !stopping) {
      stopping = true;
      stop_deadline = g_get_monotonic_time() + kStopGrace;
      std::fprintf(stderr,
                   "lpnode transcode: stopping: finishing the segment in progress (Ctrl-C again to "
                   "quit now)\n");
      // Not from this thread (a source blocked in read() holds the lock the EOS needs).
      eos_sent = gst::send_eos_off_thread(pipeline.get());
    }
    if (!m) continue;
    if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_EOS) break;
    GError* err = nullptr;
    gchar* debug = nullptr;
    if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_WARNING) {
      gst_message_parse_warning(m.get(), &err, &debug);
      std::fprintf(stderr, "lpnode transcode: warning: %s\n", err ? err->message : "unknown");
    } else {
      gst_message_parse_error(m.get(), &err, &debug);
      error = err ? err->message : "unknown error";
      // The debug text starts with the source file and the element's path on a line of their
      // own; the reason is what follows.
      const char* detail = debug ? std::strrchr(debug, '\n') : nullptr;
      detail = detail ? detail + 1 : debug;
      if (detail && *detail && std::strlen(detail) < 400 && error.find(detail) == std::string::npos)
        error += std::string(" [") + detail + "]";
    }
    g_clear_error(&err);
    g_free(debug);
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  const double wall = static_cast<double>(g_get_monotonic_time() - run.started) / G_USEC_PER_SEC;
  gchar* decoder = nullptr;
  gchar* encoder = nullptr;
  g_object_get(transcoder, "decoder", &decoder, "encoder", &encoder, nullptr);
  const std::string dec = decoder ? decoder : "";
  const std::string enc = encoder ? encoder : "";
  g_free(decoder);
  g_free(encoder);
  // A stop after a signal or an error must not wait on a streaming thread that cannot be woken
  // (a read from a pipe nobody writes, a segment in the encoders): when stopping the pipeline
  // takes longer than kTeardownLimit, the process ends from here with the renditions written
  // so far.
  std::mutex teardown_mu;
  std::condition_variable teardown_cv;
  bool torn_down = false;
  std::thread watchdog;
  if (stopping || !error.empty()) {
    const std::string line = "lpnode transcode: " + *input + ": " +
                             (error.empty() ? "stopped" : error) +
                             "; the pipeline did not stop, leaving at once\n";
    watchdog = std::thread([&, line] {
      std::unique_lock lock(teardown_mu);
      if (teardown_cv.wait_for(lock, kTeardownLimit, [&] { return torn_down; })) return;
      [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
      _exit(kExitFailed);
    });
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (eos_sent.valid()) eos_sent.wait();
  if (watchdog.joinable()) {
    {
      std::lock_guard lock(teardown_mu);
      torn_down = true;
    }
    teardown_cv.notify_all();
    watchdog.join();
  }

  std::lock_guard lock(run.mu);
  if (error.empty() && !run.error.empty()) error = run.error;
  if (error.empty() && run.segments.empty()) error = "the input gave no segments";
  if (error.empty() && !truncated.empty()) error = truncated;
  const json summary = summary_json(run, *input, dec, enc, wall);
  std::ofstream(run.out / "summary.json") << summary.dump(2) << "\n";
  if (!error.empty()) {
    return fail(cmd,
                *input + ": " + error + " (" + std::to_string(run.segments.size()) +
                    " segments were transcoded before; see " + (run.out / "summary.json").string() +
                    ")",
                kExitFailed);
  }
  print_json(summary);
  std::fprintf(stderr,
               "lpnode transcode: %zu segments, %.1f s of video in %.1f s (%.2fx real time) with "
               "%s and %s\n",
               run.segments.size(), run.media_seconds, wall,
               wall > 0 ? run.media_seconds / wall : 0.0, dec.c_str(), enc.c_str());
  return kExitOk;
}

}  // namespace lp::node
