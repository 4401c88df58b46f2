// SPDX-License-Identifier: LGPL-2.1-or-later
// HLS output: a multivariant playlist and one media playlist per rendition, segment for
// segment, written atomically (a player never reads half a playlist). No GStreamer.
//   <dir>/index.m3u8                 multivariant playlist
//   <dir>/<rendition>/index.m3u8     media playlist (sliding window when window > 0)
//   <dir>/<rendition>/<seq>.ts       segments
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "payment/common/result.h"

namespace lp::gw {

class HlsWriter {
 public:
  /// window: segments listed per media playlist (0: all, an event playlist that only grows).
  /// Segments that left the window are deleted once they are window more segments behind.
  HlsWriter(std::string dir, std::size_t window);

  /// Adds a rendition's segment; its media playlist is rewritten, the multivariant playlist
  /// too when the rendition is new. width/height 0: not announced. A seq that does not follow
  /// the rendition's last one starts after a gap (EXT-X-DISCONTINUITY).
  Status add(const std::string& rendition, std::int64_t seq, std::string_view bytes,
             double duration_seconds, int width, int height);
  /// The next segment of every rendition starts after a gap (EXT-X-DISCONTINUITY).
  void discontinuity();
  /// Ends every media playlist (EXT-X-ENDLIST).
  Status finish();
  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    std::int64_t seq;
    double duration;
    bool discontinuity;
  };
  struct Rendition {
    int width = 0, height = 0;
    std::uint64_t bandwidth = 0;    // peak bits per second seen
    std::deque<Entry> entries;      // in the window
    std::deque<std::int64_t> gone;  // left the window, files still on disk
    std::int64_t media_sequence = 0;
    std::int64_t discontinuity_sequence = 0;
    double max_duration = 0;
    bool pending_discontinuity = false;
    std::int64_t last_seq = -1;  // the last segment added
    bool ended = false;
  };
  Status write_media(const std::string& name, Rendition& r);
  Status write_multivariant();

  std::string dir_;
  std::size_t window_;
  std::mutex mu_;
  std::vector<std::string> order_;               // guarded by mu_: renditions as first seen
  std::map<std::string, Rendition> renditions_;  // guarded by mu_
};

/// Writes a file so that readers see the old or the new content, never a part (temp + rename).
Status write_file_atomic(const std::string& path, std::string_view content);

}  // namespace lp::gw
