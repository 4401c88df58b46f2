// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/gateway/verifier.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>

#include "elements/common/gst_ptr.h"
#include "elements/transcode/profiles.h"
#include "payment/eth/keccak.h"

namespace lp::gw {

namespace {

std::string bus_error(GstBus* bus) {
  gst::MessagePtr m(gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR));
  if (!m) return {};
  GError* e = nullptr;
  gst_message_parse_error(m.get(), &e, nullptr);
  std::string out = e ? e->message : "error";
  if (e) g_error_free(e);
  return out;
}

}  // namespace

MediaProbe probe_segment(std::string_view ts, int decode_width, int decode_height) {
  MediaProbe out;
  const bool decode = decode_width > 0 && decode_height > 0;
  std::string desc =
      "appsrc name=src format=bytes caps=\"video/mpegts,systemstream=(boolean)true\" ! tsdemux "
      "name=demux ! "
      "h264parse name=parse ! "
      "video/x-h264,stream-format=byte-stream,alignment=au ! ";
  if (decode)
    // I420 and its luma plane as decoded: a conversion to GRAY8 would apply each stream's
    // signalled range (sources often signal none), making equal pictures differ. Scaled as
    // lptranscode scales (videoscale keeping the picture's shape, square pixels): where the
    // rendition's even size differs in shape from the source (16x4000 in 2x480), both carry
    // the same borders.
    desc +=
        "avdec_h264 ! videoconvert ! videoscale ! "
        "video/x-raw,format=I420,width=" +
        std::to_string(decode_width) + ",height=" + std::to_string(decode_height) +
        ",pixel-aspect-ratio=1/1 ! ";
  desc += "appsink name=sink sync=false";
  GError* err = nullptr;
  gst::ObjectPtr<GstElement> pipeline(gst_parse_launch(desc.c_str(), &err));
  if (err) {
    out.error = err->message;
    g_error_free(err);
    return out;
  }
  gst::ObjectPtr<GstElement> src(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
  gst::ObjectPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  // The demuxer's end: after it, a segment without H.264 video (no pad linked to the parser)
  // will never bring EOS to the sink.
  std::atomic<bool> demuxed{false};
  gst::ObjectPtr<GstElement> demux(gst_bin_get_by_name(GST_BIN(pipeline.get()), "demux"));
  gst::ObjectPtr<GstElement> parse(gst_bin_get_by_name(GST_BIN(pipeline.get()), "parse"));
  gst::ObjectPtr<GstPad> demux_sink(gst_element_get_static_pad(demux.get(), "sink"));
  gst::ObjectPtr<GstPad> parse_sink(gst_element_get_static_pad(parse.get(), "sink"));
  gst_pad_add_probe(
      demux_sink.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [](GstPad*, GstPadProbeInfo* info, gpointer flag) {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
          static_cast<std::atomic<bool>*>(flag)->store(true);
        return GST_PAD_PROBE_OK;
      },
      &demuxed, nullptr);
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    out.error = bus_error(bus.get());
    if (out.error.empty()) out.error = "cannot start the parser";
    return out;
  }
  gst_app_src_push_buffer(GST_APP_SRC(src.get()), gst_buffer_new_memdup(ts.data(), ts.size()));
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  out.gray_width = decode_width;
  out.gray_height = decode_height;
  bool caps_read = false;
  // Pulled with a bound: a stream tsdemux cannot read ends in an error, never in EOS.
  const gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
  for (;;) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 50 * GST_MSECOND);
    if (!s) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink.get()))) break;
      if (demuxed && !gst_pad_is_linked(parse_sink.get()))
        break;  // nothing for the parser: no video
      if (std::string e = bus_error(bus.get()); !e.empty()) {
        out.error = e;
        break;
      }
      if (g_get_monotonic_time() > deadline) {
        out.error = "timed out reading the segment";
        break;
      }
      continue;
    }
    if (!caps_read) {
      if (GstCaps* caps = gst_sample_get_caps(s)) {
        const GstStructure* st = gst_caps_get_structure(caps, 0);
        if (!decode) {
          gst_structure_get_int(st, "width", &out.width);
          gst_structure_get_int(st, "height", &out.height);
        }
        gst_structure_get_fraction(st, "framerate", &out.fps_n, &out.fps_d);
        caps_read = true;
      }
    }
    ++out.frames;
    if (decode) {
      GstVideoInfo info;
      GstVideoFrame frame;
      if (gst_video_info_from_caps(&info, gst_sample_get_caps(s)) &&
          gst_video_frame_map(&frame, &info, gst_sample_get_buffer(s), GST_MAP_READ)) {
        const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
        const auto* data = static_cast<const char*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
        std::string plane;
        plane.reserve(static_cast<std::size_t>(decode_width) *
                      static_cast<std::size_t>(decode_height));
        for (int y = 0; y < decode_height; ++y)
          plane.append(data + static_cast<std::ptrdiff_t>(y) * stride,
                       static_cast<std::size_t>(decode_width));
        out.gray.push_back(std::move(plane));
        gst_video_frame_unmap(&frame);
      }
    }
    gst_sample_unref(s);
  }
  if (out.error.empty())
    if (std::string e = bus_error(bus.get()); !e.empty()) out.error = e;
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (out.error.empty() && out.frames == 0) out.error = "no H.264 video in the segment";
  return out;
}

double luma_psnr(const MediaProbe& source, const MediaProbe& rendition, std::size_t samples) {
  constexpr int kBlock = 4;
  if (source.gray.empty() || rendition.gray.empty()) return 0;
  const std::size_t n = rendition.gray.size();
  const std::size_t count = std::min(samples, n);
  const auto source_frames = static_cast<double>(source.gray.size());
  const auto frames = static_cast<double>(n);
  double sum = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t i = count == 1 ? 0 : k * (n - 1) / (count - 1);
    const std::size_t j = std::min(
        source.gray.size() - 1,
        static_cast<std::size_t>(std::llround(static_cast<double>(i) * source_frames / frames)));
    const std::string& a = rendition.gray[i];
    const std::string& b = source.gray[j];
    const int w = rendition.gray_width, h = rendition.gray_height;
    if (a.size() != b.size() ||
        a.size() != static_cast<std::size_t>(w) * static_cast<std::size_t>(h) || w < 1 || h < 1)
      return 0;
    // Compared as block means (4x4, or as large as a picture 2 or 3 pixels across allows): the
    // picture's structure, not the encoder's fine noise (a low-bitrate rendition of a detailed
    // scene loses the detail, not the scene).
    const int bw = std::min(kBlock, w), bh = std::min(kBlock, h);
    double se = 0;
    std::size_t blocks = 0;
    for (int by = 0; by + bh <= h; by += bh)
      for (int bx = 0; bx + bw <= w; bx += bw) {
        int sa = 0, sb = 0;
        for (int y = by; y < by + bh; ++y)
          for (int x = bx; x < bx + bw; ++x) {
            const std::size_t p = static_cast<std::size_t>(y) * static_cast<std::size_t>(w) +
                                  static_cast<std::size_t>(x);
            sa += static_cast<unsigned char>(a[p]);
            sb += static_cast<unsigned char>(b[p]);
          }
        const double d = static_cast<double>(sa - sb) / (bw * bh);
        se += d * d;
        ++blocks;
      }
    const double mse = se / static_cast<double>(blocks);
    sum += mse <= 1e-10 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
  }
  return sum / static_cast<double>(count);
}

Verdict Verifier::verify(const VerifyRequest& req) const {
  Verdict v;
  if (req.renditions.empty()) {
    v.code = "no_renditions";
    v.reason = "no renditions";
    return v;
  }
  // 1. The signature over keccak(keccak(r1) || ... || keccak(rn)), by the orchestrator.
  Bytes hashes;
  for (const auto& r : req.renditions) {
    const Hash h = keccak256(as_bytes(r.bytes));
    hashes.insert(hashes.end(), h.begin(), h.end());
  }
  if (!verify_message(req.orchestrator, hashes, as_bytes(req.signature))) {
    v.code = "bad_signature";
    v.reason = "bad signature: the renditions are not what the orchestrator signed";
    return v;
  }
  // 2. The source, as the reference for sizes, frame rate and frame count.
  const MediaProbe src = probe_segment(req.source);
  if (!src.error.empty()) {
    v.code = "source_unreadable";
    v.reason = "source unreadable: " + src.error;
    return v;
  }
  const double src_fps =
      src.fps_n > 0 ? static_cast<double>(src.fps_n) / std::max(1, src.fps_d) : 0;
  for (const auto& r : req.renditions) {
    const std::string what = "profile " + r.profile + ": ";
    const MediaProbe m = probe_segment(r.bytes);
    if (!m.error.empty()) {
      v.code = "rendition_unreadable";
      v.reason = what + "unreadable rendition: " + m.error;
      return v;
    }
    // Claimed pixels = frames x width x height (what the orchestrator charged for).
    const std::uint64_t counted = static_cast<std::uint64_t>(m.frames) *
                                  static_cast<std::uint64_t>(m.width) *
                                  static_cast<std::uint64_t>(m.height);
    if (counted != r.claimed_pixels) {
      v.code = "pixel_count";
      v.reason = what + "pixel count mismatch: claimed " + std::to_string(r.claimed_pixels) +
                 ", counted " + std::to_string(counted) + " (" + std::to_string(m.frames) +
                 " frames of " + std::to_string(m.width) + "x" + std::to_string(m.height) + ")";
      return v;
    }
    // The size the transcoder must produce for this source (lptranscode's rule).
    media::VideoProfile box;
    box.width = r.box_width;
    box.height = r.box_height;
    const auto [ew, eh] = media::output_size(box, src.width, src.height);
    if (m.width != ew || m.height != eh) {
      v.code = "resolution";
      v.reason = what + "wrong resolution " + std::to_string(m.width) + "x" +
                 std::to_string(m.height) + ", expected " + std::to_string(ew) + "x" +
                 std::to_string(eh);
      return v;
    }
    // Frames: the source's, or fewer in proportion when the profile lowers the frame rate
    // (by more than 5%, as the transcoder decides).
    const double profile_fps =
        r.fps_n > 0 ? static_cast<double>(r.fps_n) / std::max(1, r.fps_d) : 0;
    const bool reduced = profile_fps > 0 && src_fps > 1.05 * profile_fps;
    const double expected =
        reduced ? static_cast<double>(src.frames) * profile_fps / src_fps : src.frames;
    if (std::fabs(static_cast<double>(m.frames) - expected) > (reduced ? 1.0 : 0.0)) {
      v.code = "frame_count";
      v.reason =
          what + std::to_string(m.frames) + " frames, expected " +
          (reduced ? "about " + std::to_string(std::lround(expected)) : std::to_string(src.frames));
      return v;
    }
  }
  // 3. On sampled segments: the pictures of the smallest rendition against the source scaled
  //    to its size.
  //    Renditions thinner than kMinComparedSide in a dimension are not compared.
  std::vector<const VerifyRendition*> comparable;
  if (req.compare_pictures)
    for (const auto& r : req.renditions) {
      media::VideoProfile box;
      box.width = r.box_width;
      box.height = r.box_height;
      const auto [w, h] = media::output_size(box, src.width, src.height);
      if (w >= kMinComparedSide && h >= kMinComparedSide) comparable.push_back(&r);
    }
  v.pictures_too_thin = req.compare_pictures && comparable.empty();
  if (!comparable.empty()) {
    const VerifyRendition* smallest = *std::min_element(
        comparable.begin(), comparable.end(),
        [](const auto* a, const auto* b) { return a->claimed_pixels < b->claimed_pixels; });
    const MediaProbe probe = probe_segment(smallest->bytes);
    const MediaProbe rend = probe_segment(smallest->bytes, probe.width, probe.height);
    const MediaProbe scaled = probe_segment(req.source, probe.width, probe.height);
    if (!rend.error.empty() || !scaled.error.empty()) {
      v.code = "pictures_unreadable";
      v.reason = "profile " + smallest->profile +
                 ": cannot decode for the picture check: " + rend.error + scaled.error;
      return v;
    }
    v.psnr = luma_psnr(scaled, rend);
    if (v.psnr < config_.min_psnr) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "profile %s: pictures differ from the source (PSNR %.1f dB, minimum %.1f)",
                    smallest->profile.c_str(), v.psnr, config_.min_psnr);
      v.code = "pictures";
      v.reason = buf;
      return v;
    }
  }
  v.ok = true;
  return v;
}

}  // namespace lp::gw
