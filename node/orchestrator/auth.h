// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "elements/net/lp_rpc.pb.h"
#include "payment/common/bytes.h"
#include "payment/common/result.h"

namespace lp::orch {

/// go-livepeer's auth tokens: token = HMAC-SHA256(secret, session_id || minimal-BE(expiration)),
/// valid 30 minutes. The secret is random per process, so tokens die with the process.
class AuthTokens {
 public:
  static constexpr std::int64_t kValidSeconds = std::int64_t{30} * 60;

  explicit AuthTokens(std::optional<Hash> secret = std::nullopt);
  /// A token for a session (a new one: session id = 8 random hex characters, like go-livepeer).
  ::net::AuthToken issue(const std::string& session_id, std::int64_t now) const;
  /// "missing auth token", "invalid auth token" or "expired auth token".
  Status verify(const ::net::AuthToken& token, std::int64_t now) const;
  /// The token's MAC matches its session id and expiration (expired or not).
  bool authentic(const ::net::AuthToken& token) const;

  static std::string new_session_id();

 private:
  std::string mac(const std::string& session_id, std::int64_t expiration) const;
  Hash secret_{};
};

}  // namespace lp::orch
