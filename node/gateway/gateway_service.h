// SPDX-License-Identifier: LGPL-2.1-or-later
// The running `lpnode gateway`: the stream input through the gateway profile, HTTP push
// through the same profile (PushIngest), and the HTTP server (HLS, player, /status, /metrics,
// /healthz), all on the default main context. Every resource is owned here and released by
// the destructor, whichever step failed.
//   srtsrc|filesrc ! tsdemux ! h264parse (+ aacparse) ! <profile: lpsegmenter ! ... ! lphlssink>
//   (per pushed stream) appsrc ! <profile after lpsegmenter>
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <atomic>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elements/common/gst_ptr.h"
#include "node/gateway/gateway_config.h"
#include "node/gateway/gateway_status.h"
#include "node/gateway/push_ingest.h"
#include "node/lpnode/pipeline_profile.h"
#include "node/orchestrator/http1_front.h"
#include "payment/common/result.h"

namespace lp::gw {

class GatewayService {
 public:
  /// Builds the pipeline (unless HTTP push only) and the HTTP server, listening: nothing plays
  /// until run(). `profile` has passed check_profile; `ledger` outlives the service.
  static Result<std::unique_ptr<GatewayService>> create(GatewayConfig config,
                                                        const node::PipelineProfile& profile,
                                                        ledger::ChainReader* ledger);
  ~GatewayService();
  GatewayService(const GatewayService&) = delete;
  GatewayService& operator=(const GatewayService&) = delete;

  /// Where it serves: {"input","hls","player","status"}.
  nlohmann::json addresses() const;
  /// Plays until the stream's end or SIGINT/SIGTERM, then ends the pushed streams; the exit
  /// code (kExitOk or kExitFailed), or an error when the pipeline does not start. Once playing,
  /// prints addresses() as one JSON line on stdout.
  Result<int> run();
  nlohmann::json status() const { return status_json(view()); }
  nlohmann::json summary() const { return summary_json(view()); }

 private:
  GatewayService() = default;
  Status build_input(const node::PipelineProfile& profile);
  Status start_http();
  GatewayView view() const;
  /// What /healthz reports (empty: healthy): a lost SRT listener, a lost ledger file, every
  /// orchestrator suspended.
  std::vector<std::string> health_problems() const;
  int srt_listener_port() const;  ///< 0 when the input is not an SRT listener

  static void on_demux_pad(GstElement*, GstPad* pad, gpointer self) noexcept;
  static gboolean on_bus(GstBus*, GstMessage* m, gpointer self) noexcept;
  static gboolean on_signal(gpointer self) noexcept;
  static gboolean on_stop_timeout(gpointer self) noexcept;
  static gboolean on_listener_check(gpointer self) noexcept;
  void on_segment(const GstStructure* s);
  /// The stream input and the pushed streams are sent their ends together; the loop ends when
  /// both got there or the grace (kStopGraceSeconds) runs out.
  void begin_stop();
  static gboolean on_stop_poll(gpointer self) noexcept;

  struct LoopUnref {
    void operator()(GMainLoop* l) const { g_main_loop_unref(l); }
  };
  struct GObjectUnref {
    void operator()(gpointer p) const { g_object_unref(p); }
  };

  GatewayConfig config_;
  ledger::ChainReader* ledger_ = nullptr;
  std::unique_ptr<GMainLoop, LoopUnref> loop_;
  gst::ObjectPtr<GstElement> pipeline_;  // the stream input; nullptr for HTTP push only
  GstElement* segmenter_ = nullptr;      // in pipeline_
  GstElement* pay_ = nullptr;            // in pipeline_, each nullptr when the profile lacks it
  GstElement* remote_ = nullptr;
  GstElement* verify_ = nullptr;
  guint bus_watch_ = 0;
  guint signal_sources_[2] = {0, 0};
  std::unique_ptr<SoupServer, GObjectUnref> server_;
  std::unique_ptr<orch::Http1Front> front_;  // the HTTP port's connections; before server_ goes
  std::unique_ptr<PushIngest> push_;         // after server_: ended before the server goes
  std::string base_url_;
  SegmentCounters counters_;  // main context only
  int exit_code_ = 0;
  int interrupts_ = 0;
  std::atomic<bool> stream_seen_{false};  // the demuxer gave a pad: data reached the profile
  std::future<void> eos_sent_;            // the stop's EOS, sent off the main loop
  guint stop_timer_ = 0;                  // the stop's grace (kStopGraceSeconds)
  guint stop_poll_ = 0;                   // is everything at its end yet?
  bool input_done_ = false;               // the stream input reached its end (or has none)
};

}  // namespace lp::gw
