// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/gateway/contracts.h"

namespace lp::gw {

bool is_custom_query(GstQuery* q, const char* name) {
  if (GST_QUERY_TYPE(q) != GST_QUERY_CUSTOM) return false;
  const GstStructure* s = gst_query_get_structure(q);
  return s && gst_structure_has_name(s, name);
}

bool is_custom_event(GstEvent* e, const char* name) {
  const GstStructure* s = gst_event_get_structure(e);
  return s && gst_structure_has_name(s, name);
}

std::string to_string_bytes(GBytes* b) {
  if (!b) return {};
  gsize n = 0;
  const auto* d = static_cast<const char*>(g_bytes_get_data(b, &n));
  return std::string(d ? d : "", n);
}

GBytes* bytes_from(const std::string& s) { return g_bytes_new(s.data(), s.size()); }

void set_error(GstStructure* s, const Error& e) {
  gst_structure_set(s, "error", G_TYPE_STRING, e.message.c_str(), "error-code", G_TYPE_STRING,
                    e.code.c_str(), "error-kind", G_TYPE_STRING, error_kind_name(e.kind), nullptr);
}

std::optional<Error> get_error(const GstStructure* s) {
  const char* message = s ? gst_structure_get_string(s, "error") : nullptr;
  if (!message) return std::nullopt;
  const char* code = gst_structure_get_string(s, "error-code");
  const char* kind = gst_structure_get_string(s, "error-kind");
  return make_error(kind ? error_kind_from_name(kind) : ErrorKind::fatal,
                    code && *code ? code : "error", message);
}

std::optional<Rational> parse_rational(const char* text) {
  if (!text || !*text) return std::nullopt;
  const std::string t(text);
  const auto slash = t.find('/');
  auto num = parse_u256(t.substr(0, slash));
  if (!num) return std::nullopt;
  if (slash == std::string::npos) return Rational(BigInt(*num));
  auto den = parse_u256(t.substr(slash + 1));
  if (!den || *den == 0) return std::nullopt;
  return Rational(BigInt(*num), BigInt(*den));
}

}  // namespace lp::gw
