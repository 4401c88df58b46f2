// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/segmenter/segment_cutter.h"

namespace lp::media {

SegmentCutter::Decision SegmentCutter::on_video(std::uint64_t pts, bool keyframe, bool discont) {
  Decision d;
  if (discont && started_) pending_mark_ = true;
  if (!started_) {
    started_ = true;
    start_ = pts;
    marked_ = discont || pending_mark_;
    pending_mark_ = false;
    return d;
  }
  // Timestamps in ns that round down (30 fps = 33,333,333 ns a frame) still reach the target.
  const std::uint64_t elapsed = (pts > start_ ? pts - start_ : 0) + target_ / 100;
  if (keyframe && (pending_mark_ || elapsed >= target_)) {
    d.cut = true;
    ++seq_;
    start_ = pts;
    marked_ = pending_mark_;
    pending_mark_ = false;
    keyframe_requested_ = false;
    return d;
  }
  if (elapsed >= target_ && !keyframe_requested_) {
    d.request_keyframe = true;
    keyframe_requested_ = true;
  }
  if (elapsed > 2 * target_ + target_ / 100 && !warned_long_) {
    d.long_segment = true;
    warned_long_ = true;
  }
  return d;
}

}  // namespace lp::media
