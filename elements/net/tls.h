// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>

#include "payment/common/result.h"

namespace lp::net {

struct CertKey {
  std::string cert_pem;
  std::string key_pem;
};

/// A self-signed certificate as go-livepeer makes one at every start (server/cert.go): ECDSA
/// P-256, a CA certificate for the host (DNS name, or IP address when the host is one), valid
/// for a year from now.
Result<CertKey> self_signed_cert(const std::string& host);

}  // namespace lp::net
