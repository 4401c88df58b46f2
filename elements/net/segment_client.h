// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's side of HTTPS segment submission (libsoup 3): POST <transcoder>/segment with the
// Livepeer-Payment and Livepeer-Segment headers, the TranscodeResult back, renditions fetched
// from their URLs. Certificates are not verified (orchestrators present self-signed ones, and
// go-livepeer's gateway skips verification); the result signature is what a gateway checks.
//
// Threads: one client owns one SoupSession and one I/O thread running its own GMainContext; every
// request runs there with libsoup's async API, so all callers share one connection pool (one TLS
// session per orchestrator, reused while it stays healthy) and no thread is started per request.
// The calls below block their caller until the answer, a deadline (a timer on the I/O thread) or
// cancel_all(): a stop or a flush never waits for the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "elements/net/lp_rpc.pb.h"
#include "payment/common/result.h"

namespace lp::net {

/// Whether a connection to this address would reach the host's own network: loopback,
/// unspecified, private (RFC 1918, fc00::/7), shared (100.64.0.0/10), link-local, multicast or
/// broadcast, IPv4-mapped IPv6 included. Not a parseable IP address: true.
bool is_private_address(const std::string& ip);

class SegmentClient {
 public:
  /// What this client trusts. The defaults are the gateway's (orchestrators present
  /// self-signed certificates, and any orchestrator may sit on the operator's own network).
  struct Options {
    bool verify_tls = false;    ///< check certificates against the system's CAs
    bool allow_private = true;  ///< false: connecting to is_private_address() fails the
                                ///< request ("private_address") before a byte is sent
    std::size_t max_body = 0;   ///< an answer longer than this fails ("too_large"); 0: any
  };

  SegmentClient();
  explicit SegmentClient(Options options);
  ~SegmentClient();
  SegmentClient(const SegmentClient&) = delete;
  SegmentClient& operator=(const SegmentClient&) = delete;

  /// POSTs a segment; the whole request may take `timeout` (go-livepeer: max(8 s, 4 x the
  /// segment's duration)). A non-200 answer is an error with the code "http_<status>" (or the
  /// code of a go-livepeer answer a gateway acts on: "ticket_params_expired",
  /// "orchestrator_busy", "orchestrator_capped", "insufficient_balance") and the answer's text.
  /// No answer at all: "http_transport", "timeout" or "cancelled" (cancel_all()); an answer cut
  /// short after its status line: "body_read" or "body_timeout". answered() tells them apart.
  Result<::net::TranscodeResult> submit(const std::string& transcoder,
                                        const std::string& payment_header,
                                        const std::string& segment_header, const std::string& body,
                                        std::chrono::seconds timeout);
  /// The same, for a gateway that keeps several segments in flight: `on_uploaded` runs as soon
  /// as the orchestrator's 200 arrives (the upload is done and the next segment of the session
  /// may go), or when the request fails before that. The 200 must come within
  /// `upload_timeout`, the whole answer within `timeout`. on_uploaded runs on the I/O thread:
  /// keep it short and never call back into this client from it.
  Result<::net::TranscodeResult> submit(const std::string& transcoder,
                                        const std::string& payment_header,
                                        const std::string& segment_header, const std::string& body,
                                        std::chrono::milliseconds upload_timeout,
                                        std::chrono::milliseconds timeout,
                                        const std::function<void()>& on_uploaded);
  /// Whether an error from submit() means the orchestrator answered (a payment sent with the
  /// request was delivered) rather than never being reached.
  static bool answered(const Error& e);

  /// GETs a rendition (or any http(s) URL: other schemes fail with "bad_url").
  Result<std::string> fetch(const std::string& url, std::chrono::milliseconds timeout);

  /// Any request; the answer whatever its status (status 0: no answer, error says why). A
  /// header "Expect: 100-continue" makes the client wait before sending the body.
  struct Response {
    unsigned status = 0;
    std::string body;
    std::string error;
    std::string error_code;  ///< "timeout", "cancelled", "http_transport", "bad_url",
                             ///< "private_address" or "too_large" when status is 0
  };
  Response request(const std::string& method, const std::string& url,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& body, std::chrono::milliseconds timeout);

  /// Ends every request in flight at once (its caller gets "cancelled") and refuses new ones
  /// until resume(). Any thread.
  void cancel_all();
  void resume();

  /// Connections this client opened (TCP connects) and TLS handshakes it completed since it
  /// was made: a healthy keep-alive session to one orchestrator counts one of each.
  struct Counters {
    std::uint64_t connections = 0;
    std::uint64_t tls_handshakes = 0;
    std::uint64_t requests = 0;
  };
  Counters counters() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lp::net
