// SPDX-License-Identifier: LGPL-2.1-or-later
// go-livepeer's HTTP push ingest on the gateway (reference 2.5): PUT or POST
// /live/<name>/<seq>.ts with a whole MPEG-TS segment as the body. Each stream name gets its own
// pipeline made from the gateway profile (pipelines/gateway.gst or --pipeline) without its head:
//   appsrc ! <the profile after lpsegmenter: lpticketpay ! ... ! lphlssink>
// The body already is what lpsegmenter makes (one whole segment, its LpSegmentMeta carrying the
// pushed seq), so it enters after it: demuxing and cutting it again would re-time the segment
// and lose the seq the answer is for. The profile's lphlssink writes the stream's HLS under
// <hls-dir>/<name>/; a pad probe on its sink pad takes each segment's renditions (the buffer
// list of one source segment, renditions by LpRenditionMeta) or its lp-segment-skipped event,
// keyed by seq, for the answer: with `Accept: multipart/mixed`, one part per rendition as
// go-livepeer writes them, otherwise 200 and an empty body. A seq pushed again is answered from
// what was made for it (not paid twice); a body without H.264 video gets 422; a stream name
// that cannot name a directory, 400; no orchestrator, 503; a failed segment, 500.
#pragma once

#include <gst/gst.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/gateway/gateway_config.h"
#include "node/lpnode/pipeline_profile.h"

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;

namespace lp::gw {

/// Why a pushed stream name is refused ("" when it is accepted). It names a directory under
/// --hls-dir, a playlist URI and a metric label: 1 to 128 of the URL-safe characters
/// [A-Za-z0-9_.~-], beginning with a letter, a digit or '_', not ending in .m3u8 or .ts, and
/// none of `reserved` (what the gateway itself writes there: source/ and the renditions'
/// directories), compared without case.
std::string stream_name_problem(const std::string& name, const std::vector<std::string>& reserved);

class PushIngest {
 public:
  /// `tail`: the gateway profile without its head (node::without_head), checked by the caller;
  /// it must hold an lphlssink.
  PushIngest(GatewayConfig config, node::PipelineProfile tail);
  ~PushIngest();
  PushIngest(const PushIngest&) = delete;
  PushIngest& operator=(const PushIngest&) = delete;

  /// Serves /live on the server (its handlers run on the thread-default main context).
  void attach(SoupServer* server);
  /// How long ending the streams waits for their segments in flight.
  static constexpr gint64 kEndGraceSeconds = 3;

  /// Ends every stream: segments in flight finish (all within kEndGraceSeconds), playlists get
  /// EXT-X-ENDLIST; not graceful: at once, without waiting for either.
  void stop(bool graceful = true);
  /// The stop's first half, without blocking: pushes are refused from now on (503) and every
  /// stream is sent its end; ended() says when they all got there. stop() frees them.
  void begin_stop();
  bool ended() const;
  /// Ends the streams nobody pushed to for --push-idle-timeout (called by a timer).
  void reap_idle();

  /// Per stream name (ended ones included): segments sent to orchestrators (a repeated seq is
  /// not sent again), tickets and EV paid.
  struct StreamTotals {
    std::uint64_t segments = 0;
    std::uint64_t tickets_sent = 0;
    std::string ev_sent = "0";
  };
  std::map<std::string, StreamTotals> totals() const;

  struct Stream;

 private:
  struct Refusal {
    int status;
    std::string text;
  };
  /// What the request line and headers alone decide: a refusal, or the stream's name and the
  /// segment's number.
  std::optional<Refusal> judge_headers(SoupServerMessage* msg, const std::string& path,
                                       std::string* name, long long* seq) const;
  /// Before the body is read: a refused push is answered without reading it.
  static void on_live_early(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                            gpointer self);
  static void on_live(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                      gpointer self);
  void handle(SoupServerMessage* msg, const std::string& path);
  Stream* stream_for(const std::string& name, std::string* error);
  /// Ends one stream (EOS, playlists ended, pipeline freed), waiting for its end until
  /// `deadline` (g_get_monotonic_time(); 0: kEndGraceSeconds from now); its totals are kept.
  void end_stream(const std::string& name, bool graceful = true, gint64 deadline = 0);
  static StreamTotals totals_of(const Stream& s);

  GatewayConfig config_;
  node::PipelineProfile tail_;
  std::vector<std::string> reserved_;                       // names a stream cannot take
  std::map<std::string, std::shared_ptr<Stream>> streams_;  // main context only
  std::map<std::string, StreamTotals> ended_;               // main context only
  GSource* reaper_ = nullptr;
  bool stopping_ = false;  // main context only: begin_stop() was called
};

}  // namespace lp::gw
