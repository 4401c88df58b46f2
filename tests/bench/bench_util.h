// SPDX-License-Identifier: LGPL-2.1-or-later
// What the media benchmarks share: the clip cut into segments, medians and percentiles, a
// funded local ledger.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "payment/eth/signature.h"
#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"

namespace lp {

/// The clip cut by lpsegmenter; the last, partial segment left out when there are more.
inline std::vector<std::string> segment_clip(const std::string& path) {
  std::string desc =
      "filesrc location=\"" + path +
      "\" ! tsdemux name=d d. ! queue ! h264parse ! seg.video d. ! queue ! aacparse ! seg.audio "
      "lpsegmenter name=seg ! appsink name=out sync=false wait-on-eos=false";
  gst::ObjectPtr<GstElement> p(gst_parse_launch(desc.c_str(), nullptr));
  gst::ObjectPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(p.get()), "out"));
  gst_element_set_state(p.get(), GST_STATE_PLAYING);
  gst::ObjectPtr<GstBus> bus(gst_element_get_bus(p.get()));
  gst::MessagePtr m(
      gst_bus_timed_pop_filtered(bus.get(), 300 * GST_SECOND,
                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  std::vector<std::string> out;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 0)) {
    GstMapInfo map;
    gst_buffer_map(gst_sample_get_buffer(s), &map, GST_MAP_READ);
    out.emplace_back(reinterpret_cast<const char*>(map.data), map.size);
    gst_buffer_unmap(gst_sample_get_buffer(s), &map);
    gst_sample_unref(s);
  }
  gst_element_set_state(p.get(), GST_STATE_NULL);
  if (out.size() > 2) out.pop_back();  // whole 2 s segments only
  return out;
}

/// The median (upper for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

inline double ms_since(gint64 t0) {
  return static_cast<double>(g_get_monotonic_time() - t0) / 1000.0;
}

/// The p-th percentile (0-100), nearest rank.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(
      std::max(0.0, std::ceil(p / 100.0 * static_cast<double>(v.size())) - 1));
  return v[std::min(rank, v.size() - 1)];
}

/// A gateway funded with 1 ETH deposit and 1 ETH reserve and a registered orchestrator on a
/// fresh local ledger in a temporary directory (the caller removes `dir`).
struct BenchLedger {
  std::filesystem::path dir;
  std::string db;
  std::unique_ptr<ledger::LocalLedger> ledger;
  std::unique_ptr<pm::TicketQueue> queue;
  PrivateKey gw = PrivateKey::generate();
  PrivateKey orch = PrivateKey::generate();
};

/// nullptr when the ledger cannot be set up.
inline std::unique_ptr<BenchLedger> funded_ledger(const std::string& prefix) {
  auto w = std::make_unique<BenchLedger>();
  w->dir = std::filesystem::temp_directory_path() / (prefix + std::to_string(getpid()));
  std::filesystem::create_directories(w->dir);
  w->db = (w->dir / "ledger.db").string();
  auto ledger = ledger::LocalLedger::open(w->db);
  if (!ledger) return nullptr;
  w->ledger = std::move(*ledger);
  auto queue = pm::TicketQueue::open(w->db, *w->ledger);
  if (!queue) return nullptr;
  w->queue = std::move(*queue);
  const U256 ether(1'000'000'000'000'000'000ull);
  if (!w->ledger->register_orchestrator(w->orch.address(), "https://127.0.0.1:8935") ||
      !w->ledger->fund(w->gw.address(), ether, ether))
    return nullptr;
  return w;
}

}  // namespace lp
