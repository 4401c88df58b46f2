// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/common/result.h"

namespace lp {

const char* error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::payment_required: return "payment_required";
    case ErrorKind::retryable: return "retryable";
    case ErrorKind::fatal: return "fatal";
  }
  return "unknown";
}

}  // namespace lp
