// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "elements/segmenter/segment_muxer.h"
#include "elements/transcode/profiles.h"
#include "elements/transcode/segment_demuxer.h"

namespace lp::media {

enum class GpuMode { automatic, on, off };

/// One rendition of one segment.
struct Rendition {
  gst::BufferPtr ts;  ///< the rendition as one MPEG-TS buffer (video + the source's audio)
  int width = 0;
  int height = 0;
  unsigned frames = 0;
  std::uint64_t pixels = 0;  ///< encoded pixels: frames x width x height (what lpms charges)
};

/// The orchestrator's transcoder: decode once, then scale and encode one branch per profile,
/// in a pipeline that stays up across segments (decoder and encoders are not rebuilt per
/// segment). Each segment is demuxed, its access units are pushed into the decoder, and a new
/// STREAM_START drains the decoder so that every frame of the segment comes out of every branch
/// before the call returns. Not thread-safe: one streaming thread uses it.
class TranscodeEngine {
 public:
  struct Options {
    std::vector<VideoProfile> profiles;
    GpuMode gpu = GpuMode::automatic;
    std::string x264_preset = "veryfast";
  };

  explicit TranscodeEngine(Options options);
  ~TranscodeEngine();
  TranscodeEngine(const TranscodeEngine&) = delete;
  TranscodeEngine& operator=(const TranscodeEngine&) = delete;

  /// Starts a segment: demuxes it and feeds it to the decoder without waiting for the
  /// encoders, so that the next segment's demuxing and decoding overlap this one's encoding.
  /// Renditions come out of collect(), in submission order.
  bool submit(GstBuffer* segment, std::string* error);
  /// Waits for the oldest submitted segment; its renditions in profile order.
  bool collect(std::vector<Rendition>* out, std::string* error);
  /// Segments submitted and not collected yet.
  std::size_t pending() const;
  /// submit() and collect() of one segment.
  bool transcode(GstBuffer* segment, std::vector<Rendition>* out, std::string* error);
  /// Drops the pipeline and the segments in flight (a flush); the next segment rebuilds.
  void reset();

  /// The decoder and encoder elements picked from the registry (after the first segment).
  const std::string& decoder() const { return decoder_; }
  const std::string& encoder() const { return encoder_; }
  /// videoscale, or cudascale after NVDEC.
  const std::string& scaler() const { return scaler_; }
  /// How many times the pipeline was built (1 for a stream without format changes).
  int builds() const { return builds_; }

 private:
  struct Branch {
    GstElement* sink = nullptr;     // owned by pipeline_
    GstElement* encoder = nullptr;  // owned by pipeline_
    int width = 0;
    int height = 0;
    // Frame-rate reduction (fps_num == 0: passthrough); used by the branch's streaming thread.
    int fps_num = 0;
    int fps_den = 1;
    bool have_due = false;
    GstClockTime next_due = 0;  ///< the next output time: frames well before it are dropped
  };

  bool build(GstCaps* video_caps, std::string* error);
  void teardown();
  struct ProbeContext;
  /// A submitted segment: its renditions' frames arrive per branch at its drain marker.
  struct Pending {
    unsigned marker = 0;
    std::vector<std::vector<gst::BufferPtr>> frames;  ///< per branch
    std::vector<gst::CapsPtr> caps;                   ///< per branch
    std::vector<std::pair<int, int>> sizes;           ///< per branch
    std::size_t done = 0;                             ///< branches past the marker
    GstClockTime first_in = GST_CLOCK_TIME_NONE;
    gst::CapsPtr audio_caps;
    std::vector<gst::BufferPtr> audio;
  };

  bool wait_until(const std::function<bool()>& ready,
                  std::string* error);  ///< ready runs under mu_
  bool all_done() const;                ///< every pending segment complete; under mu_
  void with_frame_rate(DemuxedSegment* d);
  static void restamp(std::vector<gst::BufferPtr>* frames, GstClockTime first_in);
  std::optional<std::string> bus_error();  ///< the pipeline's first error message, if any
  static GstPadProbeReturn on_sink_event(GstPad* pad, GstPadProbeInfo* info, gpointer data);
  static GstPadProbeReturn on_decimate(GstPad* pad, GstPadProbeInfo* info, gpointer data);

  Options options_;
  std::string decoder_;
  std::string encoder_;
  std::string scaler_;
  int builds_ = 0;
  gst::ObjectPtr<GstElement> pipeline_;
  gst::ObjectPtr<GstPad> feed_;  // our source pad, linked to the decoder
  gst::CapsPtr built_for_;       // the source caps the pipeline was built for
  std::vector<Branch> branches_;
  mutable std::mutex mu_;
  std::deque<Pending> pending_;  // guarded by mu_
  std::condition_variable drained_cv_;
  SegmentDemuxer demuxer_;
  SegmentMuxer muxer_;
  unsigned segments_ = 0;
  int guessed_fps_n_ = 0;  ///< for sources without a frame rate (see with_frame_rate)
  int guessed_fps_d_ = 1;
};

}  // namespace lp::media
