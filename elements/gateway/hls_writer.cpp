// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/gateway/hls_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace lp::gw {

namespace fs = std::filesystem;

Status write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  bool written = false;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.close();
    written = !f.fail();
  }
  std::error_code ec;
  if (!written) {  // a full disk, a directory gone
    fs::remove(tmp, ec);
    return make_error(ErrorKind::fatal, "write_failed", "cannot write " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);  // no .tmp left behind for a player or an operator to find
    return make_error(ErrorKind::fatal, "write_failed", "cannot rename " + tmp + ": " + why);
  }
  return ok_status();
}

HlsWriter::HlsWriter(std::string dir, std::size_t window) : dir_(std::move(dir)), window_(window) {}

Status HlsWriter::add(const std::string& rendition, std::int64_t seq, std::string_view bytes,
                      double duration_seconds, int width, int height) {
  if (rendition.empty() || rendition.find('/') != std::string::npos || rendition == "." ||
      rendition == "..")
    return make_error(ErrorKind::invalid_input, "bad_rendition_name",
                      "not a usable rendition name: " + rendition);
  std::lock_guard lock(mu_);
  const bool is_new = !renditions_.count(rendition);
  Rendition& r = renditions_[rendition];
  if (is_new) {
    order_.push_back(rendition);
    std::error_code ec;
    fs::create_directories(fs::path(dir_) / rendition, ec);
    if (ec)
      return make_error(ErrorKind::fatal, "mkdir_failed",
                        "cannot create " + dir_ + "/" + rendition + ": " + ec.message());
  }
  if (width > 0) r.width = width;
  if (height > 0) r.height = height;
  const double d = std::max(duration_seconds, 0.001);
  const auto bps = static_cast<std::uint64_t>(static_cast<double>(bytes.size()) * 8.0 / d);
  const bool bandwidth_grew = bps > r.bandwidth;
  r.bandwidth = std::max(r.bandwidth, bps);
  const std::string seg_path =
      (fs::path(dir_) / rendition / (std::to_string(seq) + ".ts")).string();
  if (auto st = write_file_atomic(seg_path, bytes); !st) return st;
  // A gap in the numbers (a pushed stream that skipped one) is a discontinuity too.
  const bool gap = r.last_seq >= 0 && seq != r.last_seq + 1;
  r.last_seq = seq;
  r.entries.push_back(Entry{seq, duration_seconds, r.pending_discontinuity || gap});
  r.pending_discontinuity = false;
  r.max_duration = std::max(r.max_duration, duration_seconds);
  while (window_ > 0 && r.entries.size() > window_) {
    if (r.entries.front().discontinuity) ++r.discontinuity_sequence;
    r.gone.push_back(r.entries.front().seq);
    r.entries.pop_front();
    ++r.media_sequence;
  }
  while (window_ > 0 && r.gone.size() > window_) {
    std::error_code ec;
    fs::remove(fs::path(dir_) / rendition / (std::to_string(r.gone.front()) + ".ts"), ec);
    r.gone.pop_front();
  }
  if (auto st = write_media(rendition, r); !st) return st;
  if (is_new || (bandwidth_grew && r.entries.size() <= 3)) return write_multivariant();
  return ok_status();
}

void HlsWriter::discontinuity() {
  std::lock_guard lock(mu_);
  for (auto& [name, r] : renditions_) r.pending_discontinuity = true;
}

Status HlsWriter::finish() {
  std::lock_guard lock(mu_);
  for (auto& [name, r] : renditions_) {
    r.ended = true;
    if (auto st = write_media(name, r); !st) return st;
  }
  return ok_status();
}

Status HlsWriter::write_media(const std::string& name, Rendition& r) {
  std::string m = "#EXTM3U\n#EXT-X-VERSION:3\n";
  m += "#EXT-X-TARGETDURATION:" +
       std::to_string(static_cast<long>(std::ceil(std::max(r.max_duration, 1.0)))) + "\n";
  m += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(r.media_sequence) + "\n";
  if (r.discontinuity_sequence)
    m += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(r.discontinuity_sequence) + "\n";
  if (window_ == 0) m += "#EXT-X-PLAYLIST-TYPE:EVENT\n";
  char extinf[64];
  for (const auto& e : r.entries) {
    if (e.discontinuity) m += "#EXT-X-DISCONTINUITY\n";
    std::snprintf(extinf, sizeof extinf, "#EXTINF:%.3f,\n", e.duration);
    m += extinf;
    m += std::to_string(e.seq) + ".ts\n";
  }
  if (r.ended) m += "#EXT-X-ENDLIST\n";
  return write_file_atomic((fs::path(dir_) / name / "index.m3u8").string(), m);
}

Status HlsWriter::write_multivariant() {
  std::string m = "#EXTM3U\n#EXT-X-VERSION:3\n";
  for (const auto& name : order_) {
    const Rendition& r = renditions_[name];
    m += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(std::max<std::uint64_t>(r.bandwidth, 1));
    if (r.width > 0 && r.height > 0)
      m += ",RESOLUTION=" + std::to_string(r.width) + "x" + std::to_string(r.height);
    m += "\n" + name + "/index.m3u8\n";
  }
  return write_file_atomic((fs::path(dir_) / "index.m3u8").string(), m);
}

}  // namespace lp::gw
