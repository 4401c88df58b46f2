// SPDX-License-Identifier: LGPL-2.1-or-later
// go-livepeer's HTTP push ingest on the gateway (reference 2.5): PUT or POST
// /live/<name>/<seq>.ts with a whole MPEG-TS segment as the body. Each stream name gets its own
// pipeline (appsrc ! lpticketpay ! lpremote-transcode ! lpverify ! appsink); the answer comes
// when the segment's renditions are verified: with `Accept: multipart/mixed`, one part per
// rendition as go-livepeer writes them, otherwise 200 and an empty body. Renditions also go to
// HLS under <hls-dir>/<name>/. A seq pushed again is answered from what was made for it (not
// paid twice); a body without H.264 video gets 422; no orchestrator, 503; a failed segment, 500.
#pragma once

#include <gst/gst.h>

#include <map>
#include <memory>
#include <string>

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;

namespace lp::gw {

struct GatewayConfig {
  std::string orchestrators;
  bool registry = false;  ///< also the active orchestrators of the ledger's registry
  std::string profiles;
  std::string key_file;
  std::string password;
  std::string ledger;
  std::string hls_dir;
  guint64 max_price_per_unit = 0;
  guint64 pixels_per_unit = 1;
  guint verify_sample = 10;
  guint max_in_flight = 3;
  std::size_t max_body = 300'000'000;  ///< go-livepeer MaxSegSize
};

/// The gateway's paid, verified transcoding as three linked elements in `bin`:
/// lpticketpay ! lpremote-transcode ! lpverify, set from the config. nullptr members when an
/// element is missing.
struct PaidTranscoding {
  GstElement* pay = nullptr;  ///< the first (link the segments into it)
  GstElement* remote = nullptr;
  GstElement* verify = nullptr;  ///< the last (link it to the sink)
};
PaidTranscoding add_paid_transcoding(GstBin* bin, const GatewayConfig& config);

class PushIngest {
 public:
  explicit PushIngest(GatewayConfig config);
  ~PushIngest();
  PushIngest(const PushIngest&) = delete;
  PushIngest& operator=(const PushIngest&) = delete;

  /// Serves /live on the server (its handlers run on the thread-default main context).
  void attach(SoupServer* server);
  /// Ends every stream: segments in flight finish, playlists get EXT-X-ENDLIST.
  void stop();

  /// Per stream name: segments sent to orchestrators (a repeated seq is not sent again),
  /// tickets and EV paid.
  struct StreamTotals {
    std::uint64_t segments = 0;
    std::uint64_t tickets_sent = 0;
    std::string ev_sent = "0";
  };
  std::map<std::string, StreamTotals> totals() const;

  struct Stream;

 private:
  static void on_live(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                      gpointer self);
  void handle(SoupServerMessage* msg, const std::string& path);
  Stream* stream_for(const std::string& name, std::string* error);

  GatewayConfig config_;
  std::map<std::string, std::shared_ptr<Stream>> streams_;  // main context only
};

}  // namespace lp::gw
