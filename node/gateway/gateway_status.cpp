// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/gateway/gateway_status.h"

#include <filesystem>

#include "node/gateway/push_ingest.h"
#include "node/lpnode/admin.h"
#include "payment/common/u256.h"
#include "payment/eth/signature.h"
#include "payment/ledger/ledger.h"

namespace lp::gw {

namespace {

namespace fs = std::filesystem;

nlohmann::json value_to_json(const GValue* v) {
  if (G_VALUE_HOLDS_STRING(v)) return g_value_get_string(v) ? g_value_get_string(v) : "";
  if (G_VALUE_HOLDS_UINT64(v)) return g_value_get_uint64(v);
  if (G_VALUE_HOLDS_INT64(v)) return g_value_get_int64(v);
  if (G_VALUE_HOLDS_UINT(v)) return g_value_get_uint(v);
  if (G_VALUE_HOLDS_INT(v)) return g_value_get_int(v);
  if (G_VALUE_HOLDS_DOUBLE(v)) return g_value_get_double(v);
  if (G_VALUE_HOLDS_BOOLEAN(v)) return static_cast<bool>(g_value_get_boolean(v));
  if (GST_VALUE_HOLDS_STRUCTURE(v)) return to_json(gst_value_get_structure(v));
  if (GST_VALUE_HOLDS_ARRAY(v)) {
    nlohmann::json a = nlohmann::json::array();
    for (guint i = 0; i < gst_value_array_get_size(v); ++i)
      a.push_back(value_to_json(gst_value_array_get_value(v, i)));
    return a;
  }
  gchar* text = gst_value_serialize(v);
  nlohmann::json out = text ? text : "";
  g_free(text);
  return out;
}

nlohmann::json element_stats(GstElement* e) {
  if (!e) return nlohmann::json::object();
  GstStructure* st = nullptr;
  g_object_get(e, "stats", &st, nullptr);
  nlohmann::json j = to_json(st);
  if (st) gst_structure_free(st);
  return j;
}

std::string string_property(GstElement* e, const char* name) {
  gchar* v = nullptr;
  if (e) g_object_get(e, name, &v, nullptr);
  std::string out = v ? v : "0";
  g_free(v);
  return out;
}

nlohmann::json push_json(const PushIngest* push) {
  nlohmann::json j = nlohmann::json::object();
  if (push)
    for (const auto& [name, t] : push->totals())
      j[name] = {
          {"segments", t.segments}, {"tickets_sent", t.tickets_sent}, {"ev_sent", t.ev_sent}};
  return j;
}

std::pair<guint64, guint64> verify_counts(GstElement* verify) {
  guint64 verified = 0, failed = 0;
  if (verify) g_object_get(verify, "verified", &verified, "failed", &failed, nullptr);
  return {verified, failed};
}

}  // namespace

nlohmann::json to_json(const GstStructure* st) {
  nlohmann::json j = nlohmann::json::object();
  if (!st) return j;
  for (gint i = 0; i < gst_structure_n_fields(st); ++i) {
    const char* name = gst_structure_nth_field_name(st, i);
    j[name] = value_to_json(gst_structure_get_value(st, name));
  }
  return j;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json status_json(const GatewayView& v) {
  const SegmentCounters& c = *v.counters;
  nlohmann::json j;
  j["input"] = v.config->input;
  j["hls"] = v.hls_url;
  std::error_code ec;
  // The player waits for the playlist.
  j["playlist"] = fs::exists(fs::path(v.config->hls_dir) / "index.m3u8", ec);
  j["stream"] = v.config->stream_name;
  j["profiles"] = v.config->profiles;
  j["segments"] = c.segments;
  j["skipped"] = c.skipped;
  j["retried"] = c.retried;
  j["last_segment_seconds"] = c.last_seconds;
  const auto [verified, failed] = verify_counts(v.verify);
  j["verified"] = verified;
  j["verify_failed"] = failed;
  nlohmann::json wallet = element_stats(v.pay);
  nlohmann::json remote = element_stats(v.remote);
  // One entry per orchestrator: what selection knows of it, and what was paid to it.
  nlohmann::json orchs = remote.value("orchestrators", nlohmann::json::array());
  for (auto& o : orchs)
    for (const auto& w : wallet.value("orchestrators", nlohmann::json::array()))
      if (!o.value("address", "").empty() && w.value("address", "") == o.value("address", ""))
        for (const char* k : {"payments", "tickets-sent", "ev-sent", "debited", "balance"})
          o[k] = w[k];
  j["orchestrators"] = orchs;
  wallet.erase("orchestrators");
  j["payments"] = wallet;
  j["push"] = push_json(v.push);
  if (v.pay && v.ledger) {
    const std::string address = string_property(v.pay, "address");
    if (auto a = parse_address(address))
      if (auto info = v.ledger->sender_info(*a)) {
        j["address"] = address;
        j["deposit"] = to_dec(info->deposit);
        j["reserve"] = to_dec(info->reserve);
      }
  }
  return j;
}

std::string metrics_text(const GatewayView& v) {
  const SegmentCounters& c = *v.counters;
  const nlohmann::json s = status_json(v);
  node::PromText m;
  std::uint64_t push_segments = 0, push_tickets = 0;
  for (const auto& [name, t] : s["push"].items()) {
    push_segments += t.value("segments", std::uint64_t{0});
    push_tickets += t.value("tickets_sent", std::uint64_t{0});
  }
  const auto num = [](const nlohmann::json& j, const char* k) {
    if (!j.contains(k)) return 0.0;
    if (j[k].is_number()) return j[k].get<double>();
    // wei as "n" or "n/d"
    return Rational(j[k].get<std::string>()).convert_to<double>();
  };
  m.counter("livepeer_segment_source_appeared_total", "Source segments cut from the stream",
            static_cast<double>(c.segments + c.skipped));
  m.counter("livepeer_segment_transcoded_total", "Segments transcoded by an orchestrator",
            static_cast<double>(c.segments));
  m.counter("livepeer_segment_skipped_total", "Segments no orchestrator could transcode (skipped)",
            static_cast<double>(c.skipped));
  for (const auto& [code, n] : c.errors)
    m.counter("livepeer_segment_transcode_failed_total",
              "Skipped segments by the last attempt's error code", static_cast<double>(n),
              {{"error_code", code}});
  m.counter("livepeer_transcode_retried", "Attempts after a segment's first failed",
            static_cast<double>(c.retried));
  m.counter("livepeer_transcode_overall_latency_seconds_total",
            "Sum of the segments' submit-to-renditions times", c.seconds_total);
  m.gauge("livepeer_transcode_overall_latency_seconds",
          "The last segment's submit-to-renditions time", c.last_seconds);
  m.counter("livepeer_fast_verification_done", "Segments whose renditions passed verification",
            num(s, "verified"));
  m.counter("livepeer_fast_verification_failed", "Segments whose renditions failed verification",
            num(s, "verify_failed"));
  m.counter("livepeer_tickets_sent", "Tickets sent to orchestrators",
            num(s["payments"], "tickets-sent"));
  m.counter("livepeer_ticket_value_sent", "Expected value of the tickets sent, wei",
            num(s["payments"], "ev-sent"));
  m.gauge("livepeer_gateway_credit", "Credit left with orchestrators, wei",
          num(s["payments"], "balance"));
  m.counter("livepeer_push_segments_total",
            "Segments taken by HTTP push (a repeated seq counted once)",
            static_cast<double>(push_segments));
  m.counter("livepeer_push_tickets_sent", "Tickets sent for HTTP push streams",
            static_cast<double>(push_tickets));
  if (s.contains("deposit")) {
    m.gauge("livepeer_gateway_deposit", "The gateway's deposit on the ledger, wei",
            num(s, "deposit"));
    m.gauge("livepeer_gateway_reserve", "The gateway's reserve on the ledger, wei",
            num(s, "reserve"));
  }
  std::size_t suspended = 0;
  for (const auto& o : s["orchestrators"]) {
    suspended += o.value("suspended", false);
    const node::Labels l{{"orchestrator", o.value("target", "")}};
    m.counter("livepeer_orchestrator_segments_total", "Segments an orchestrator transcoded",
              num(o, "successes"), l);
    m.counter("livepeer_orchestrator_errors_total", "Failed attempts on an orchestrator",
              num(o, "failures"), l);
  }
  m.gauge("livepeer_orchestrators_suspended", "Orchestrators suspended after a failure",
          static_cast<double>(suspended));
  return m.str();
}

nlohmann::json summary_json(const GatewayView& v) {
  const auto [verified, failed] = verify_counts(v.verify);
  guint64 tickets = 0;
  if (v.pay) g_object_get(v.pay, "tickets-sent", &tickets, nullptr);
  return {
      {"input", v.config->input},
      {"stream", v.config->stream_name},
      {"segments", v.counters->segments},
      {"skipped", v.counters->skipped},
      {"verified", verified},
      {"verify_failed", failed},
      {"tickets_sent", tickets},
      {"ev_sent", string_property(v.pay, "ev-sent")},
      {"credit_left", string_property(v.pay, "balance")},
      {"hls", v.config->hls_dir},
      {"push", push_json(v.push)},
      // Per orchestrator: what selection knew of it and what was paid to it, for the books.
      {"orchestrators", status_json(v)["orchestrators"]},
  };
}

}  // namespace lp::gw
