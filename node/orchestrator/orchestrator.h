// SPDX-License-Identifier: LGPL-2.1-or-later
// The orchestrator's protocol logic, without the network: what GetOrchestrator answers, and
// what POST /segment does with its two headers and body (payment before work, go-livepeer's
// status codes and error strings), then the work through a Transcoder (one transcoder session
// per orchestrator session), the signature, the rendition store and the bill. The gRPC and
// HTTPS servers are thin layers over this class.
#pragma once

#include <cstdint>
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
#include "node/orchestrator/auth.h"
#include "node/orchestrator/rendition_store.h"
#include "node/orchestrator/transcoder.h"
#include "payment/eth/signature.h"
#include "payment/ledger/ledger.h"
#include "payment/pm/recipient.h"

namespace lp::orch {

struct OrchestratorConfig {
  std::string service_uri = "https://127.0.0.1:8935";  ///< where gateways send segments
  pm::PriceInfo price{0, 1};                           ///< wei per pixelsPerUnit pixels
  std::size_t max_sessions = 10;  ///< go-livepeer -maxSessions (the transcoder's capacity too)
  std::size_t max_queued_per_session = 4;  ///< segments waiting per session (then OrchestratorBusy)
  std::size_t renditions_kept = 12;        ///< per session and profile, in the default memory store
  std::int64_t session_idle_seconds = 70;  ///< transcodeLoopTimeout
  std::string version = "0.1.0";
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

/// What a POST /segment body is: the segment, or the URL of the segment in object storage
/// (Content-Type application/vnd+livepeer.uri).
/// headers: only the request headers are at hand (Orchestrator::check_headers).
enum class SegmentBody { bytes, uri, headers };

/// A segment that passed every check and was paid for: what is left is the work (for a URI
/// body: first the download, then check_download()).
struct AcceptedSegment {
  ::net::SegData segment;
  std::optional<Address> sender;
  std::string uri;  ///< the segment's URL when the body was one, else empty
};

class Orchestrator {
 public:
  using Clock = std::function<std::int64_t()>;  ///< unix seconds

  /// The transcoder does the work of every session; renditions wait in `store` (default: a
  /// memory store keeping config.renditions_kept per session and profile).
  Orchestrator(OrchestratorConfig config, const PrivateKey& key, pm::Recipient& recipient,
               std::shared_ptr<Transcoder> transcoder, Clock now,
               std::shared_ptr<RenditionStore> store = nullptr);
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
  /// computed here. A URI body (kind uri) is checked as go-livepeer does: the payment is taken
  /// first, and the hash is checked by check_download() once the server has the segment.
  std::variant<SegmentReply, AcceptedSegment> accept_segment(std::string_view payment_header,
                                                             std::string_view segment_header,
                                                             std::string_view body,
                                                             const Hash* body_hash = nullptr,
                                                             SegmentBody kind = SegmentBody::bytes);
  /// What the headers alone decide, before a body is read (a refusal, counted as one; nullopt:
  /// read the body and call accept_segment): the payment and segment headers parse, the
  /// segment's signature, profiles, capabilities and auth token hold, and a payment without
  /// tickets finds the credit it needs. Nothing is paid or changed.
  std::optional<SegmentReply> check_headers(std::string_view payment_header,
                                            std::string_view segment_header);
  /// For a segment accepted with a URI body: the downloaded bytes against SegData.hash (403
  /// "Forbidden" when they differ), or the download's failure (400 "BadRequest", go-livepeer's
  /// answer for both an error and a download over 8 s). nullopt: go on with transcode_segment.
  std::optional<SegmentReply> check_download(const AcceptedSegment& accepted,
                                             const Result<std::string>& downloaded);
  /// The work for an accepted segment: a place in its session's line, the transcode, the
  /// signature over the renditions' hashes, the store, the bill. Errors after acceptance go
  /// to the gateway in TranscodeResult.error (status 200), as go-livepeer's.
  SegmentReply transcode_segment(const AcceptedSegment& accepted, std::string_view body);

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
  /// The most sessions it takes: the lower of --max-sessions and the transcoder's capacity.
  std::size_t session_limit() const;
  /// The most accepted segments that can be in the sessions' lines at once (one running and
  /// max_queued_per_session waiting in each): what a server needs workers for.
  std::size_t segment_workers() const {
    return session_limit() * (1 + config_.max_queued_per_session);
  }
  OrchestratorStats stats() const;

  /// What a session's sender owes or has in credit (credit - debit), for tests and /status.
  Rational balance(const Address& sender, const std::string& session) {
    return recipient_.balances().balance(sender, session);
  }
  /// Each sender's credit over its sessions, for /status.
  std::map<Address, Rational> credit_by_sender() { return recipient_.balances().by_address(); }

 private:
  struct Session;
  class Turn;  // a session's line, held for one segment
  struct Ladder {
    std::vector<media::VideoProfile> profiles;
    std::string key;  // the wire profiles' bytes: a session's transcoder is kept while it matches
  };
  std::variant<SegmentReply, AcceptedSegment> check_segment(std::string_view payment_header,
                                                            std::string_view segment_header,
                                                            std::string_view body,
                                                            const Hash* body_hash,
                                                            SegmentBody kind);
  void count_refusal();
  ::net::OrchestratorInfo info_for(const Address& sender, const ::net::AuthToken& token);
  Result<std::shared_ptr<Session>> session_for(const std::string& id, bool create);
  // The steps of transcode_segment.
  Result<Turn> admit(const std::string& session_id);
  static Result<Ladder> ladder_of(const ::net::SegData& seg);
  Result<std::vector<RenditionOut>> transcode(Session& s, const Ladder& ladder,
                                              const ::net::SegData& seg, std::string_view body);
  Signature sign(const std::vector<RenditionOut>& renditions) const;
  std::uint64_t store(const std::string& session_id, const Ladder& ladder, std::int64_t seq,
                      std::vector<RenditionOut> renditions, ::net::TranscodeData* data);
  void bill(const AcceptedSegment& accepted, std::uint64_t pixels);

  OrchestratorConfig config_;
  PrivateKey key_;
  pm::Recipient& recipient_;
  std::shared_ptr<Transcoder> transcoder_;
  std::shared_ptr<RenditionStore> store_;
  Clock now_;
  AuthTokens tokens_;
  ::net::Capabilities capabilities_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // guarded by mu_
  mutable std::mutex stats_mu_;
  OrchestratorStats stats_;  // guarded by stats_mu_
};

}  // namespace lp::orch
