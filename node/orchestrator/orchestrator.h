// SPDX-License-Identifier: LGPL-2.1-or-later
// The orchestrator's protocol logic, without the network: what GetOrchestrator answers, and
// what POST /segment does with its two headers and body (payment before work, go-livepeer's
// status codes and error strings), with one warm transcoding pipeline per session. The gRPC
// and HTTPS servers are thin layers over this class.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "elements/net/lp_rpc.pb.h"
#include "elements/transcode/profiles.h"
#include "elements/transcode/transcode_engine.h"
#include "node/orchestrator/auth.h"
#include "payment/eth/signature.h"
#include "payment/ledger/ledger.h"
#include "payment/pm/recipient.h"

namespace lp::orch {

struct OrchestratorConfig {
  std::string service_uri = "https://127.0.0.1:8935";  ///< where gateways send segments
  pm::PriceInfo price{0, 1};                           ///< wei per pixelsPerUnit pixels
  std::size_t max_sessions = 10;                       ///< go-livepeer -maxSessions
  std::size_t max_queued_per_session = 4;  ///< segments waiting per session (then OrchestratorBusy)
  std::size_t renditions_kept = 12;  ///< per session and profile, as go-livepeer's memory store
  std::int64_t session_idle_seconds = 70;  ///< transcodeLoopTimeout
  std::string version = "0.1.0";
  media::GpuMode gpu = media::GpuMode::automatic;
  std::string x264_preset = "veryfast";
};

/// The HTTP answer to POST /segment.
struct SegmentReply {
  int status = 200;
  std::string
      content_type;  ///< application/x-protobuf for a TranscodeResult, text/plain for an error
  std::string body;
};

/// What the orchestrator has done since it started: the figures behind /metrics (named after
/// go-livepeer's where the concept matches) and the benchmarks.
struct OrchestratorStats {
  std::uint64_t segments_refused = 0;     ///< POST /segment answered with an error status
  std::uint64_t segments_transcoded = 0;  ///< livepeer_segment_transcoded_total
  std::uint64_t transcode_failed = 0;     ///< livepeer_segment_transcode_failed_total
  double transcode_seconds = 0;  ///< sum of the transcode times (livepeer_transcode_time_seconds)
  double last_transcode_seconds = 0;  ///< the most recent segment's transcode time
  std::uint64_t pixels = 0;        ///< encoded pixels billed (livepeer_mil_pixels_processed x 1e6)
  std::uint64_t tickets_recv = 0;  ///< valid tickets received (livepeer_tickets_recv)
  std::uint64_t winning_tickets_recv = 0;  ///< livepeer_winning_tickets_recv
  std::uint64_t payment_recv_errors =
      0;                           ///< batches with a refused ticket (livepeer_payment_recv_errors)
  Rational ticket_value_recv = 0;  ///< EV credited, wei (livepeer_ticket_value_recv)
};

/// A test seam, never set by the node: changes a segment's renditions before they are hashed
/// and signed (a cheating transcoder: black pictures, the wrong size, frames missing, pixels
/// over-claimed), or after (bytes that no longer match the signature).
struct RenditionTamper {
  std::function<void(std::int64_t seq, std::vector<std::string>& bytes,
                     std::vector<std::uint64_t>& pixels)>
      before_sign;
  std::function<void(std::int64_t seq, std::vector<std::string>& bytes)> after_sign;
};

/// A segment that passed every check and was paid for: what is left is the work.
struct AcceptedSegment {
  ::net::SegData segment;
  std::optional<Address> sender;
};

class Orchestrator {
 public:
  using Clock = std::function<std::int64_t()>;  ///< unix seconds

  Orchestrator(OrchestratorConfig config, PrivateKey key, pm::Recipient& recipient, Clock now);
  ~Orchestrator();

  const Address& address() const { return key_.address(); }
  /// Where gateways send segments and fetch renditions (set once the HTTPS port is known).
  void set_service_uri(const std::string& uri);
  std::string service_uri() const;

  /// GetOrchestrator: checks the request signature (over the EIP-55 address string) and the
  /// capacity, then ticket params for that sender, the price, capabilities and a new session's
  /// auth token. Errors carry go-livepeer's text.
  Result<::net::OrchestratorInfo> get_orchestrator(const ::net::OrchestratorRequest& req);

  /// POST /segment: Livepeer-Payment and Livepeer-Segment header values, and the body.
  SegmentReply serve_segment(std::string_view payment_header, std::string_view segment_header,
                             std::string_view body);
  /// The two halves of serve_segment, for a server that answers 200 between them (go-livepeer
  /// flushes 200 as soon as the upload is accepted, then transcodes): the checks and the
  /// payment (fast), then the transcode (as long as the segment takes).
  /// body_hash: the body's Keccak-256 when the server computed it while receiving, else it is
  /// computed here.
  std::variant<SegmentReply, AcceptedSegment> accept_segment(std::string_view payment_header,
                                                             std::string_view segment_header,
                                                             std::string_view body,
                                                             const Hash* body_hash = nullptr);
  SegmentReply transcode_segment(AcceptedSegment accepted, std::string_view body);

  /// EndTranscodingSession: tears the session down when the token is this orchestrator's.
  Status end_session(const ::net::AuthToken& token);

  /// Ping: Sign(value), so a caller can check it reaches the key holder.
  std::string ping(const std::string& value) const;

  /// GET /stream/<session>/<profile>/<seq>.ts
  std::optional<std::string> rendition(const std::string& session, const std::string& profile,
                                       std::int64_t seq) const;

  /// Drops sessions idle for longer than the configured time; returns how many.
  std::size_t reap_idle();
  std::size_t sessions() const;
  OrchestratorStats stats() const;
  /// Tests only: see RenditionTamper.
  void set_tamper(RenditionTamper tamper);

  /// What a session's sender owes or has in credit (credit - debit), for tests and /status.
  Rational balance(const Address& sender, const std::string& session) {
    return recipient_.balances().balance(sender, session);
  }
  /// Each sender's credit over its sessions, for /status.
  std::map<Address, Rational> credit_by_sender() { return recipient_.balances().by_address(); }

 private:
  struct Session;
  std::variant<SegmentReply, AcceptedSegment> check_segment(std::string_view payment_header,
                                                            std::string_view segment_header,
                                                            std::string_view body,
                                                            const Hash* body_hash);
  ::net::OrchestratorInfo info_for(const Address& sender, const ::net::AuthToken& token);
  Result<std::shared_ptr<Session>> session_for(const std::string& id, bool create);

  OrchestratorConfig config_;
  PrivateKey key_;
  pm::Recipient& recipient_;
  Clock now_;
  AuthTokens tokens_;
  ::net::Capabilities capabilities_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // guarded by mu_
  mutable std::mutex stats_mu_;
  OrchestratorStats stats_;  // guarded by stats_mu_
  RenditionTamper tamper_;   // guarded by mu_
};

}  // namespace lp::orch
