// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/auth.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "elements/net/wire.h"

namespace lp::orch {

AuthTokens::AuthTokens(std::optional<Hash> secret) {
  if (secret) {
    secret_ = *secret;
  } else if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    throw std::runtime_error("no random bytes for the auth token secret");
  }
}

std::string AuthTokens::mac(const std::string& session_id, std::int64_t expiration) const {
  std::string msg =
      session_id +
      net::minimal_be(U256(static_cast<std::uint64_t>(std::max<std::int64_t>(expiration, 0))));
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

::net::AuthToken AuthTokens::issue(const std::string& session_id, std::int64_t now) const {
  ::net::AuthToken t;
  t.set_session_id(session_id);
  t.set_expiration(now + kValidSeconds);
  t.set_token(mac(session_id, t.expiration()));
  return t;
}

bool AuthTokens::authentic(const ::net::AuthToken& token) const {
  const std::string want = mac(token.session_id(), token.expiration());
  return want.size() == token.token().size() &&
         CRYPTO_memcmp(want.data(), token.token().data(), want.size()) == 0;
}

Status AuthTokens::verify(const ::net::AuthToken& token, std::int64_t now) const {
  if (token.session_id().empty() || token.token().empty())
    return make_error(ErrorKind::forbidden, "missing_auth_token", "missing auth token");
  if (!authentic(token))
    return make_error(ErrorKind::forbidden, "invalid_auth_token", "invalid auth token");
  if (token.expiration() < now)
    return make_error(ErrorKind::forbidden, "expired_auth_token", "expired auth token");
  return ok_status();
}

std::string AuthTokens::new_session_id() {
  std::uint8_t b[4];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes for a session id");
  return to_hex(ByteSpan(b, sizeof b), false);
}

}  // namespace lp::orch
