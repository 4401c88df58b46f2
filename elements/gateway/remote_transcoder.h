// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's remote transcoding (go-livepeer server/broadcast.go and discovery/, reduced to
// what a list of orchestrators needs): GetOrchestrator to each, selection by price, latency and
// past success, a paid and signed POST /segment per attempt, renditions downloaded, retries on
// another orchestrator with suspension of the one that failed. No GStreamer: the
// lpremote-transcode element runs it on its worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "elements/gateway/wallet.h"
#include "elements/net/lp_rpc.pb.h"
#include "elements/net/segment_client.h"
#include "elements/transcode/profiles.h"
#include "payment/ledger/ledger.h"

namespace lp::gw {

/// What remote transcoding needs from the wallet. lpremote-transcode answers it with queries
/// to lpticketpay; tests and `lpnode` can back it with a Wallet directly (WalletPayer).
class Payer {
 public:
  virtual ~Payer() = default;
  virtual Result<Address> address() = 0;
  virtual Result<Signature> sign(ByteSpan message) = 0;
  struct Payment {
    std::string header;  ///< Livepeer-Payment value
    std::uint64_t grant = 0;
    std::size_t tickets = 0;
  };
  virtual Result<Payment> pay(const Address& orchestrator, const std::string& session,
                              const ::net::TicketParams& params, const ::net::PriceInfo& price,
                              const Rational& fee) = 0;
  virtual void settle(std::uint64_t grant, SettleOutcome outcome, const Rational& debit) = 0;
};

class WalletPayer : public Payer {
 public:
  explicit WalletPayer(Wallet& w) : w_(w) {}
  Result<Address> address() override { return w_.address(); }
  Result<Signature> sign(ByteSpan message) override { return w_.sign(message); }
  Result<Payment> pay(const Address& orchestrator, const std::string& session,
                      const ::net::TicketParams& params, const ::net::PriceInfo& price,
                      const Rational& fee) override;
  void settle(std::uint64_t grant, SettleOutcome outcome, const Rational& debit) override {
    w_.settle(grant, outcome, debit);
  }

 private:
  Wallet& w_;
};

struct RemoteConfig {
  std::vector<std::string> orchestrators;  ///< gRPC service addresses, host:port
  std::vector<media::VideoProfile> ladder;
  int attempts = 3;                      ///< per segment (go-livepeer -maxAttempts)
  std::chrono::seconds suspend_for{30};  ///< after a failure; doubles while it keeps failing
  std::chrono::milliseconds call_timeout{3000};  ///< GetOrchestrator
  /// Multiplies the segment deadlines (go-livepeer's timeoutMultiplier, set per stream by its
  /// auth webhook): for slow links, slow orchestrators, or a loaded test machine.
  double timeout_multiplier = 1.0;
};

struct SourceSegment {
  std::string manifest_id;
  std::int64_t seq = 0;
  std::string bytes;
  double duration_seconds = 2.0;
};

struct RemoteRendition {
  std::string profile;
  std::string bytes;
  std::uint64_t pixels = 0;  ///< as the orchestrator claims (and charges)
};

struct RemoteOutcome {
  std::int64_t seq = 0;
  bool ok = false;
  std::string error;       ///< the last attempt's message, when !ok (for people)
  std::string error_code;  ///< its stable code ("http_402", "timeout", "ticket_params_expired"...)
  std::string census;      ///< go-livepeer's metric code for it (census_code)
  std::vector<RemoteRendition> renditions;  ///< ladder order
  Address orchestrator{};
  std::string orchestrator_target;
  std::string price_per_pixel;  ///< what it asked, wei ("n" or "n/d")
  std::string signature;        ///< TranscodeData.sig
  int attempts = 0;
  double seconds = 0;  ///< the successful attempt's round trip
};

/// An orchestrator chosen for a segment, with its place in that orchestrator's upload line
/// (a session receives its segments in order: the next upload starts when the previous one
/// got its 200).
struct Placement {
  int index = -1;  ///< -1: none available
  std::uint64_t place = 0;
};

class RemoteTranscoder {
 public:
  /// payer may be null: then requests are signed with a key made for this run and no payment
  /// is sent (orchestrators at price 0, go-livepeer's offchain mode).
  RemoteTranscoder(RemoteConfig config, Payer* payer);
  ~RemoteTranscoder();

  /// GetOrchestrator to every orchestrator, in parallel. Returns how many are usable.
  std::size_t discover();
  /// Chooses an orchestrator for the next segment and takes its place in that orchestrator's
  /// upload line. Call in segment order. Orchestrators in `exclude` are not chosen.
  Placement place(const std::set<int>& exclude = {});
  /// Runs a segment to the end: the placed attempt, then retries elsewhere. Blocks for the
  /// upload, the remote transcode and the downloads. Thread-safe (several segments in flight).
  RemoteOutcome transcode(const SourceSegment& segment, Placement first,
                          std::set<int> exclude = {});
  /// Suspends an orchestrator (its result failed verification, say); returns its index or -1.
  int suspend(const Address& orchestrator, const std::string& reason);
  /// The index of an orchestrator by address, -1 when unknown.
  int index_of(const Address& orchestrator) const;

  struct OrchestratorState {
    std::string target;
    std::string transcoder;  ///< its HTTPS URI
    std::string address;     ///< 0x hex, empty before it answered
    std::string price_per_pixel;
    double latency_ms = 0;
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    bool suspended = false;
    std::string last_error;
  };
  std::vector<OrchestratorState> state() const;
  /// Ends every request in flight (gRPC and HTTPS) at once and refuses new ones until resume():
  /// a stop or a flush never waits for the network. Any thread.
  void cancel_all();
  void resume();
  /// The HTTPS client's connections and TLS handshakes so far (one per orchestrator while its
  /// keep-alive connection stays healthy and one segment is in flight at a time).
  net::SegmentClient::Counters http_counters() const;
  /// Logs one line per event (selection, failure, suspension); defaults to nothing.
  void set_logger(std::function<void(const std::string&)> log);

 private:
  struct Orch;
  Status refresh(Orch& o);
  Result<RemoteOutcome> attempt(const SourceSegment& segment, Orch& o, std::uint64_t place);
  void fail(Orch& o, const std::string& why);

  RemoteConfig config_;
  Payer* payer_;
  std::unique_ptr<PrivateKey> own_key_;  // when there is no payer
  std::vector<::net::VideoProfile> profiles_;
  std::vector<ProfileBox> boxes_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Orch>> orchs_;
  std::unique_ptr<net::SegmentClient> http_;  // one session for every orchestrator
  std::function<void(const std::string&)> log_;
};

/// go-livepeer's metric code (monitor/census.go) for why a segment could not be done, from an
/// error's code and kind: NoOrchestrators, Timeout, Download, OrchestratorCapped, Payment,
/// Verification (ours), Unknown.
const char* census_code(const Error& e);

/// The ladder as the wire's VideoProfile messages (H.264 in MPEG-TS).
std::vector<::net::VideoProfile> to_wire_profiles(const std::vector<media::VideoProfile>& ladder);

/// The gRPC targets (host:port) to ask: a comma- or space-separated list (an https:// prefix
/// dropped), then the registry's active entries not already listed (go-livepeer: -orchAddr,
/// or discovery).
std::vector<std::string> orchestrator_targets(
    const std::string& list, const std::vector<ledger::OrchestratorEntry>& registry = {});

}  // namespace lp::gw
