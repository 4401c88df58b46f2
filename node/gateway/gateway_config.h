// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's settings, typed, made once from flags, LP_ variables and --config by
// `lpnode gateway` (node/lpnode/gateway_command.cpp) and read by everything it runs: the stream
// input, HTTP push, the profile's ${placeholders}, /status.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <map>
#include <string>

namespace lp::gw {

struct GatewayConfig {
  std::string input = "srt://:9000?mode=listener";  ///< srt://..., a file, or "none"
  std::string orchestrators;  ///< host:port list; empty: the ledger's registry
  std::string profiles = "P240p30fps16x9,P360p30fps16x9";
  std::string key_file;
  std::string passphrase;  ///< for a keystore key file; may be empty
  std::string ledger;
  std::string http_host = "127.0.0.1";
  int http_port = 8935;
  std::string hls_dir = "hls";
  guint playlist_length = 6;
  guint64 max_price_per_unit = 0;
  guint64 pixels_per_unit = 1;
  guint verify_sample = 10;
  guint max_in_flight = 3;
  std::string stream_name = "live";
  std::string pipeline = "gateway";  ///< profile name in pipelines/ or a file
  std::string web_dir;
  std::size_t max_body = 300'000'000;  ///< go-livepeer MaxSegSize, for HTTP push
  guint max_streams = 10;              ///< pushed streams at once (go-livepeer -maxSessions)
  guint push_idle_seconds = 60;        ///< a pushed stream idle this long is ended

  bool push_only() const { return input == "none"; }
  bool srt() const { return input.rfind("srt://", 0) == 0; }
};

/// The values of a gateway profile's ${placeholders} for one stream: its name and HLS
/// directory, everything else from the config.
std::map<std::string, std::string> profile_values(const GatewayConfig& config,
                                                  const std::string& stream_name,
                                                  const std::string& hls_dir);

}  // namespace lp::gw
