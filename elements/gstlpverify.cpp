// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-lpverify
 * @title: lpverify
 *
 * Checks what orchestrators returned before anything is published. It takes the segment
 * lists of lpremote-transcode (the source segment, then its renditions) and checks, for every
 * segment: the orchestrator's signature over the rendition hashes, each rendition's claimed
 * pixels against its own frames, its resolution, frame rate and frame count against the
 * profile and the source; and on a sample of segments (#LpVerify:sample, chosen with a secret
 * so an orchestrator cannot tell which) the pictures against the downscaled source (PSNR of
 * the luma, #LpVerify:min-psnr), so that black, frozen or unrelated video fails.
 *
 * A segment that fails is dropped with a warning and an "lp-verify-failed" event goes
 * upstream at once, inside lpremote-transcode's push (its "seq", "orchestrator", "reason" and
 * "reason-code": bad_signature, pixel_count, resolution, frame_count, pictures...):
 * lpremote-transcode suspends the orchestrator and has the segment done elsewhere, and its
 * sequencer keeps later segments back until the redo, so segments leave here in order without
 * being held here. Keep lpverify directly after lpremote-transcode (no queue between them) for
 * that order. Without lpremote-transcode upstream, a failed segment is announced downstream
 * with an "lp-segment-skipped" event. Nothing unverified passes.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e filesrc location=in.ts ! tsdemux ! h264parse ! lpsegmenter \
 *   ! lpremote-transcode orchestrators=127.0.0.1:8935 ! lpverify sample=5 ! lphlssink location=hls
 * ]|
 */
#include "elements/gstlpverify.h"

#include <openssl/rand.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "elements/gateway/contracts.h"
#include "elements/gateway/verifier.h"
#include "elements/lpmeta.h"
#include "payment/eth/keccak.h"

GST_DEBUG_CATEGORY_STATIC(lp_verify_debug);
#define GST_CAT_DEFAULT lp_verify_debug

enum { PROP_0, PROP_SAMPLE, PROP_MIN_PSNR, PROP_VERIFIED, PROP_FAILED };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/mpegts, systemstream=(boolean)true"));

struct LpVerifyPriv {
  std::mutex settings_lock;
  guint sample = 10;       // guarded by settings_lock
  double min_psnr = 25.0;  // guarded by settings_lock
  std::atomic<guint64> verified{0}, failed{0};
  std::array<std::uint8_t, 32> secret{};
};

struct _LpVerify {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  LpVerifyPriv* priv;
};

G_DEFINE_TYPE(LpVerify, lp_verify, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(lpverify, "lpverify", GST_RANK_NONE, LP_TYPE_VERIFY);

/// Whether a segment's pictures are compared: 1 in `sample`, by a keyed hash of its seq.
static bool sampled(const LpVerifyPriv* p, std::int64_t seq, guint sample) {
  if (sample == 0) return false;
  if (sample == 1) return true;
  lp::Keccak256 k;
  k.update(lp::ByteSpan(p->secret.data(), p->secret.size()));
  const std::string s = std::to_string(seq);
  k.update(lp::as_bytes(s));
  const lp::Hash h = k.finish();
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h[static_cast<std::size_t>(i)];
  return v % sample == 0;
}

static GstFlowReturn lp_verify_chain_list(GstPad*, GstObject* parent,
                                          GstBufferList* list) noexcept {
  auto* self = LP_VERIFY(parent);
  LpVerifyPriv* p = self->priv;
  guint sample;
  double min_psnr;
  {
    std::lock_guard lock(p->settings_lock);
    sample = p->sample;
    min_psnr = p->min_psnr;
  }
  // The source segment and its renditions, mapped while they are checked.
  GstBuffer* source = nullptr;
  std::vector<GstBuffer*> renditions;
  for (guint i = 0; i < gst_buffer_list_length(list); ++i) {
    GstBuffer* b = gst_buffer_list_get(list, i);
    if (lp_buffer_get_rendition_meta(b))
      renditions.push_back(b);
    else if (!source && lp_buffer_get_segment_meta(b))
      source = b;
  }
  if (!source || renditions.empty()) {
    gst_buffer_list_unref(list);
    GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE,
                      ("lpverify takes the segment lists of lpremote-transcode"),
                      ("a list without a source segment or without renditions"));
    return GST_FLOW_ERROR;
  }
  const std::int64_t seq = static_cast<std::int64_t>(lp_buffer_get_segment_meta(source)->seq);
  std::vector<GstMapInfo> maps(renditions.size() + 1);
  bool mapped = gst_buffer_map(source, &maps[0], GST_MAP_READ);
  lp::gw::VerifyRequest req;
  if (mapped)
    req.source = std::string_view(reinterpret_cast<const char*>(maps[0].data), maps[0].size);
  std::string orchestrator;
  for (std::size_t i = 0; mapped && i < renditions.size(); ++i) {
    if (!gst_buffer_map(renditions[i], &maps[i + 1], GST_MAP_READ)) {
      mapped = false;
      break;
    }
    const LpRenditionMeta* rm = lp_buffer_get_rendition_meta(renditions[i]);
    req.renditions.push_back(lp::gw::VerifyRendition{
        rm->profile ? rm->profile : "", rm->width, rm->height, rm->fps_n, rm->fps_d,
        std::string_view(reinterpret_cast<const char*>(maps[i + 1].data), maps[i + 1].size),
        rm->pixels});
    if (i == 0) {
      orchestrator = rm->orchestrator ? rm->orchestrator : "";
      req.signature = lp::gw::to_string_bytes(rm->signature);
    }
  }
  lp::gw::Verdict verdict;
  auto address = lp::parse_address(orchestrator);
  if (!mapped) {
    verdict.code = "unreadable";
    verdict.reason = "cannot read the segment's buffers";
  } else if (!address) {
    verdict.code = "no_orchestrator_address";
    verdict.reason = "no orchestrator address on the renditions";
  } else {
    req.orchestrator = *address;
    req.compare_pictures = sampled(p, seq, sample);
    lp::gw::VerifierConfig config;
    config.min_psnr = min_psnr;
    verdict = lp::gw::Verifier(config).verify(req);
  }
  gst_buffer_unmap(source, &maps[0]);
  for (std::size_t i = 0; i < req.renditions.size(); ++i)
    gst_buffer_unmap(renditions[i], &maps[i + 1]);

  if (verdict.ok) {
    ++p->verified;
    GST_DEBUG_OBJECT(self, "segment %" G_GINT64_FORMAT " from %s verified%s", seq,
                     orchestrator.c_str(), req.compare_pictures ? " (pictures compared)" : "");
    return gst_pad_push_list(self->srcpad, list);
  }
  ++p->failed;
  gst_buffer_list_unref(list);
  GST_ELEMENT_WARNING_WITH_DETAILS(
      self, STREAM, FAILED,
      ("segment %" G_GINT64_FORMAT " from %s failed verification", seq, orchestrator.c_str()),
      ("%s", verdict.reason.c_str()),
      ("error-code", G_TYPE_STRING, "Verification", "reason-code", G_TYPE_STRING,
       verdict.code.c_str(), nullptr));
  // The verdict goes upstream at once (inside lpremote-transcode's push): its sequencer keeps
  // the segment at the head of the line and has it done again, so order holds without any
  // holding back here.
  GstEvent* ev = gst_event_new_custom(
      GST_EVENT_CUSTOM_UPSTREAM,
      gst_structure_new(lp::gw::kVerifyFailedEvent, "seq", G_TYPE_UINT64, static_cast<guint64>(seq),
                        "orchestrator", G_TYPE_STRING, orchestrator.c_str(), "reason",
                        G_TYPE_STRING, verdict.reason.c_str(), "reason-code", G_TYPE_STRING,
                        verdict.code.c_str(), nullptr));
  if (!gst_pad_push_event(self->sinkpad, ev)) {
    // Nobody upstream redoes segments: this one is skipped, in place.
    gst_pad_push_event(
        self->srcpad,
        gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                             gst_structure_new(lp::gw::kSegmentSkippedEvent, "seq", G_TYPE_UINT64,
                                               static_cast<guint64>(seq), "reason", G_TYPE_STRING,
                                               verdict.reason.c_str(), "error-code", G_TYPE_STRING,
                                               "Verification", nullptr)));
  }
  return GST_FLOW_OK;
}

static GstFlowReturn lp_verify_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer) noexcept {
  GstBufferList* list = gst_buffer_list_new_sized(1);
  gst_buffer_list_add(list, buffer);
  return lp_verify_chain_list(pad, parent, list);
}

static void lp_verify_finalize(GObject* object) {
  auto* self = LP_VERIFY(object);
  delete self->priv;
  G_OBJECT_CLASS(lp_verify_parent_class)->finalize(object);
}

static void lp_verify_set_property(GObject* object, guint id, const GValue* value,
                                   GParamSpec* pspec) {
  auto* p = LP_VERIFY(object)->priv;
  std::lock_guard lock(p->settings_lock);
  switch (id) {
    case PROP_SAMPLE:
      p->sample = g_value_get_uint(value);
      break;
    case PROP_MIN_PSNR:
      p->min_psnr = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void lp_verify_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  auto* p = LP_VERIFY(object)->priv;
  std::lock_guard lock(p->settings_lock);
  switch (id) {
    case PROP_SAMPLE:
      g_value_set_uint(value, p->sample);
      break;
    case PROP_MIN_PSNR:
      g_value_set_double(value, p->min_psnr);
      break;
    case PROP_VERIFIED:
      g_value_set_uint64(value, p->verified);
      break;
    case PROP_FAILED:
      g_value_set_uint64(value, p->failed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void lp_verify_class_init(LpVerifyClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->finalize = lp_verify_finalize;
  gobject_class->set_property = lp_verify_set_property;
  gobject_class->get_property = lp_verify_get_property;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_PLAYING);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_SAMPLE,
      g_param_spec_uint(
          "sample", "Sample",
          "Compare pictures with the source on 1 in N segments (0: never, 1: every segment)", 0,
          G_MAXUINT, 10, rw));
  g_object_class_install_property(
      gobject_class, PROP_MIN_PSNR,
      g_param_spec_double(
          "min-psnr", "Minimum PSNR",
          "Pictures whose luma PSNR against the downscaled source is below this (dB) fail", 0, 100,
          25, rw));
  g_object_class_install_property(
      gobject_class, PROP_VERIFIED,
      g_param_spec_uint64("verified", "Verified", "Segments that passed", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_FAILED,
      g_param_spec_uint64("failed", "Failed", "Segments that failed verification", 0, G_MAXUINT64,
                          0, ro));
  gst_element_class_set_static_metadata(
      element_class, "Livepeer verifier", "Filter/Analyzer/Video",
      "Checks orchestrators' renditions: signature, pixels, size, frames, pictures",
      "livepeer-gst");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  GST_DEBUG_CATEGORY_INIT(lp_verify_debug, "lpverify", 0, "Livepeer verifier");
}

static void lp_verify_init(LpVerify* self) {
  self->priv = new LpVerifyPriv();
  if (RAND_bytes(self->priv->secret.data(), static_cast<int>(self->priv->secret.size())) != 1)
    g_error("lpverify: no randomness for the sampling secret");
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, lp_verify_chain);
  gst_pad_set_chain_list_function(self->sinkpad, lp_verify_chain_list);
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
