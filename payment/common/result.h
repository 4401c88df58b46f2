// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lp {

/// How a caller should react to an error (go-livepeer's taxonomy).
enum class ErrorKind {
  invalid_input,     ///< malformed bytes or fields: the request itself is wrong
  forbidden,         ///< well-formed but not allowed: bad signature, wrong recipient, replay
  payment_required,  ///< not enough credit or funds
  retryable,         ///< a transient condition: try again later or elsewhere
  fatal,             ///< the operation can never succeed
};

const char* error_kind_name(ErrorKind kind) noexcept;
/// The kind named by error_kind_name(); fatal for a name it does not know.
ErrorKind error_kind_from_name(std::string_view name) noexcept;

/// An error with a stable machine-readable code ("sig_high_s") and a human message.
struct Error {
  ErrorKind kind = ErrorKind::fatal;
  std::string code;
  std::string message;

  std::string to_string() const { return code + ": " + message; }
};

inline Error make_error(ErrorKind kind, std::string code, std::string message) {
  return Error{kind, std::move(code), std::move(message)};
}

/// The text of an errno value ("No such file or directory"); safe on any thread, unlike strerror.
std::string errno_text(int errnum);

/// Either a value or an Error; library code returns this instead of throwing.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
/// Result of an operation that has no value.
using Status = Result<Ok>;

inline Status ok_status() { return Ok{}; }

}  // namespace lp
