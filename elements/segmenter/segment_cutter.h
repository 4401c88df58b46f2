// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <optional>

namespace lp::media {

/// Where lpsegmenter cuts a live H.264 stream, decided from timestamps and flags only, so that
/// the rules are tested without pads. Times are nanoseconds of stream time.
class SegmentCutter {
 public:
  explicit SegmentCutter(std::uint64_t target_ns) : target_(target_ns) {}

  struct Decision {
    bool cut = false;               ///< this frame starts a new segment (it is a keyframe)
    bool request_keyframe = false;  ///< ask upstream for a keyframe now (once per segment)
    bool long_segment = false;      ///< the segment ran past twice the target (once per stream)
  };

  /// One video frame in decode order. The first frame opens segment 0.
  Decision on_video(std::uint64_t pts, bool keyframe, bool discont);
  /// The video format changed: the next keyframe starts a new, marked segment.
  void on_format_change() { pending_mark_ = true; }

  bool started() const { return started_; }
  std::uint64_t seq() const { return seq_; }  ///< of the current segment
  std::uint64_t start() const { return start_; }
  /// The current segment began at a discontinuity or a format change.
  bool marked() const { return marked_; }
  std::uint64_t target() const { return target_; }

 private:
  std::uint64_t target_;
  bool started_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t start_ = 0;
  bool marked_ = false;
  bool pending_mark_ = false;
  bool keyframe_requested_ = false;
  bool warned_long_ = false;
};

}  // namespace lp::media
