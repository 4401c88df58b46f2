// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's checks of what an orchestrator returned (docs/gateway.md): the result
// signature over the rendition hashes, each rendition's claimed pixels against its own frames,
// its resolution, frame rate and frame count against the profile and the source, and on
// sampled segments the pictures against the downscaled source (PSNR of the luma plane), so that
// black, frozen or unrelated video fails. Parsing and decoding use GStreamer pipelines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "payment/eth/signature.h"

namespace lp::gw {

/// What a transport stream segment holds, as the verifier measures it.
struct MediaProbe {
  int width = 0, height = 0;
  int fps_n = 0, fps_d = 1;
  unsigned frames = 0;
  /// When decoded: each frame's luma plane at gray_width x gray_height, row after row.
  std::vector<std::string> gray;
  int gray_width = 0, gray_height = 0;
  std::string error;  ///< not empty when the segment could not be read
};

/// Parses a segment's H.264 video (frames, size, frame rate); with decode_width/height, also
/// decodes it and scales every frame's luma to that size.
MediaProbe probe_segment(std::string_view ts, int decode_width = 0, int decode_height = 0);

/// Mean PSNR (dB) of the luma planes of up to `samples` frames of `rendition`, each against
/// the source frame at the same time. Both probes decoded to the same size.
double luma_psnr(const MediaProbe& source, const MediaProbe& rendition, std::size_t samples = 8);

struct VerifyRendition {
  std::string profile;
  int box_width = 0, box_height = 0;  ///< the profile's requested size
  int fps_n = 0, fps_d = 1;           ///< the profile's frame rate (0: the source's)
  std::string_view bytes;
  std::uint64_t claimed_pixels = 0;
};

struct VerifyRequest {
  std::string_view source;
  std::vector<VerifyRendition> renditions;  ///< in the order the signature covers
  Address orchestrator{};
  std::string signature;
  bool compare_pictures = false;
};

struct Verdict {
  bool ok = false;
  /// Why not, as a stable code: no_renditions, bad_signature, source_unreadable,
  /// rendition_unreadable, pixel_count, resolution, frame_count, pictures_unreadable, pictures.
  std::string code;
  std::string reason;  ///< why not, for people, naming the profile
  double psnr = 0;     ///< when pictures were compared
  /// Pictures were asked for but every rendition is thinner than kMinComparedSide in one
  /// dimension (a 16x4000 source's renditions are 2 pixels wide): the scalers' aliasing, not
  /// the content, would decide, so the pictures are not judged (the other checks still are).
  bool pictures_too_thin = false;
};

/// The narrowest picture side the picture check compares.
inline constexpr int kMinComparedSide = 16;

struct VerifierConfig {
  double min_psnr = 25.0;  ///< dB of 4x4 block means; honest renditions of the test clips: above
                           ///< 30, black or unrelated: 6-13
};

class Verifier {
 public:
  explicit Verifier(VerifierConfig config = {}) : config_(config) {}
  Verdict verify(const VerifyRequest& req) const;

 private:
  VerifierConfig config_;
};

}  // namespace lp::gw
