// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/gateway/gateway_config.h"

namespace lp::gw {

std::map<std::string, std::string> profile_values(const GatewayConfig& config,
                                                  const std::string& stream_name,
                                                  const std::string& hls_dir) {
  return {
      {"stream-name", stream_name},
      {"key-file", config.key_file},
      {"passphrase", config.passphrase},
      {"ledger", config.ledger},
      {"max-price-per-unit", std::to_string(config.max_price_per_unit)},
      {"pixels-per-unit", std::to_string(config.pixels_per_unit)},
      {"orchestrators", config.orchestrators},
      // lpremote-transcode reads the registry from a ledger only without a list.
      {"registry", config.orchestrators.empty() ? config.ledger : ""},
      {"profiles", config.profiles},
      {"max-in-flight", std::to_string(config.max_in_flight)},
      {"verify-sample", std::to_string(config.verify_sample)},
      {"hls-dir", hls_dir},
      {"playlist-length", std::to_string(config.playlist_length)},
  };
}

}  // namespace lp::gw
