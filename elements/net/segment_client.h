// SPDX-License-Identifier: LGPL-2.1-or-later
// The gateway's side of HTTPS segment submission (libsoup 3): POST <transcoder>/segment with the
// Livepeer-Payment and Livepeer-Segment headers, the TranscodeResult back, renditions fetched
// from their URLs. Certificates are not verified (orchestrators present self-signed ones, and
// go-livepeer's gateway skips verification); the result signature is what a gateway checks.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "elements/net/lp_rpc.pb.h"
#include "payment/common/result.h"

typedef struct _SoupSession SoupSession;

namespace lp::net {

class SegmentClient {
 public:
  SegmentClient();
  ~SegmentClient();
  SegmentClient(const SegmentClient&) = delete;
  SegmentClient& operator=(const SegmentClient&) = delete;

  /// POSTs a segment; the whole request may take `timeout` (go-livepeer: max(8 s, 4 x the
  /// segment's duration)). A non-200 answer is an error carrying the status and its text.
  Result<::net::TranscodeResult> submit(const std::string& transcoder,
                                        const std::string& payment_header,
                                        const std::string& segment_header, const std::string& body,
                                        std::chrono::seconds timeout);
  /// The same, for a gateway that keeps several segments in flight: `on_uploaded` runs as soon
  /// as the orchestrator's 200 arrives (the upload is done and the next segment of the session
  /// may go), or when the request fails before that. The 200 must come within
  /// `upload_timeout`, the whole answer within `timeout`.
  Result<::net::TranscodeResult> submit(const std::string& transcoder,
                                        const std::string& payment_header,
                                        const std::string& segment_header, const std::string& body,
                                        std::chrono::milliseconds upload_timeout,
                                        std::chrono::milliseconds timeout,
                                        const std::function<void()>& on_uploaded);
  /// GETs a rendition.
  Result<std::string> fetch(const std::string& url, std::chrono::seconds timeout);

  /// Any request; the answer whatever its status (status 0: no answer, error says why). A
  /// header "Expect: 100-continue" makes the client wait before sending the body.
  struct Response {
    unsigned status = 0;
    std::string body;
    std::string error;
  };
  Response request(const std::string& method, const std::string& url,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& body, std::chrono::seconds timeout);

 private:
  SoupSession* session_;
};

}  // namespace lp::net
