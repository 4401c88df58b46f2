// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/common/result.h"

#include <system_error>

namespace lp {

std::string errno_text(int errnum) { return std::generic_category().message(errnum); }

const char* error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_input:
      return "invalid_input";
    case ErrorKind::forbidden:
      return "forbidden";
    case ErrorKind::payment_required:
      return "payment_required";
    case ErrorKind::retryable:
      return "retryable";
    case ErrorKind::fatal:
      return "fatal";
  }
  return "unknown";
}

ErrorKind error_kind_from_name(std::string_view name) noexcept {
  for (ErrorKind k : {ErrorKind::invalid_input, ErrorKind::forbidden, ErrorKind::payment_required,
                      ErrorKind::retryable, ErrorKind::fatal})
    if (name == error_kind_name(k)) return k;
  return ErrorKind::fatal;
}

}  // namespace lp
