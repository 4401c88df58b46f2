// SPDX-License-Identifier: LGPL-2.1-or-later
// What /status, /metrics and the closing summary of `lpnode gateway` say, built with
// nlohmann::json from the running service's elements and counters.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "node/gateway/gateway_config.h"

namespace lp::ledger {
class ChainReader;
}

namespace lp::gw {

class PushIngest;

/// The stream input's segments, from lpremote-transcode's "lp-segment" element messages.
struct SegmentCounters {
  std::uint64_t segments = 0, skipped = 0, retried = 0;
  double last_seconds = 0, seconds_total = 0;
  std::map<std::string, std::uint64_t> errors;  ///< skipped segments by go-livepeer error code
};

/// What the reports read; any element may be nullptr (HTTP push only, or a profile without it).
struct GatewayView {
  const GatewayConfig* config = nullptr;
  const SegmentCounters* counters = nullptr;
  GstElement* pay = nullptr;
  GstElement* remote = nullptr;
  GstElement* verify = nullptr;
  const PushIngest* push = nullptr;
  ledger::ChainReader* ledger = nullptr;
  std::string hls_url;
};

nlohmann::json status_json(const GatewayView& v);
std::string metrics_text(const GatewayView& v);
/// The summary printed on stdout at the end.
nlohmann::json summary_json(const GatewayView& v);

/// JSON text on one line; bytes that are not UTF-8 (a path from the command line) become U+FFFD
/// rather than an exception.
std::string json_text(const nlohmann::json& j);

/// A GstStructure (element stats) as JSON: numbers, strings, booleans, arrays of structures.
nlohmann::json to_json(const GstStructure* st);

}  // namespace lp::gw
