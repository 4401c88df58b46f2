// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/ledger/settlement.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>

#include "payment/ledger/local_ledger.h"

namespace lp::ledger {

namespace {

namespace fs = std::filesystem;

constexpr const char* kForms = "file:PATH, sqlite:PATH or a path";

Error uri_error(const std::string& message) {
  return make_error(ErrorKind::invalid_input, "settlement_uri", message);
}

/// RFC 3986's scheme (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) before ':'), lower-cased;
/// empty when the setting has none and so is a plain path.
std::string scheme_of(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      !std::isalpha(static_cast<unsigned char>(uri[0])))
    return {};
  std::string scheme;
  for (char c : uri.substr(0, colon)) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '+' && c != '-' && c != '.') return {};
    scheme += static_cast<char>(std::tolower(u));
  }
  return scheme;
}

/// The path of `file:` and `sqlite:` settings: `file:PATH` as written, or the URI form
/// `file:///abs/path` (`file://localhost/abs/path`).
Result<std::string> local_path(const std::string& rest) {
  std::string path = rest;
  if (rest.rfind("//", 0) == 0) {
    const auto slash = rest.find('/', 2);
    const std::string host =
        rest.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    if (!host.empty() && host != "localhost")
      return uri_error("a local ledger file has no host ('" + host +
                       "'); write file:RELATIVE/PATH or file:///ABSOLUTE/PATH");
    path = slash == std::string::npos ? std::string() : rest.substr(slash);
  }
  if (path.empty()) return uri_error(std::string("no ledger file named (") + kForms + ")");
  return path;
}

/// One key per file, whatever the spelling (relative, ./, .., symbolic links); the file may
/// not exist yet.
std::string canonical_key(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path, ec).lexically_normal();
  return p.string();
}

struct Cache {
  std::mutex mu;
  std::map<std::string, std::weak_ptr<LocalLedger>> local;  // guarded by mu
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

Result<SettlementUri> parse_settlement_uri(const std::string& uri) {
  if (uri.empty()) return uri_error(std::string("no settlement given (") + kForms + ")");
  const std::string scheme = scheme_of(uri);
  if (scheme.empty()) return SettlementUri{SettlementUri::Backend::local, uri};
  const std::string rest = uri.substr(scheme.size() + 1);
  if (scheme == "file" || scheme == "sqlite") {
    auto path = local_path(rest);
    if (!path) return path.error();
    return SettlementUri{SettlementUri::Backend::local, *path};
  }
  if (scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss")
    return SettlementUri{SettlementUri::Backend::ethereum, uri};
  return make_error(ErrorKind::invalid_input, "settlement_scheme",
                    "unknown settlement scheme '" + scheme + "' (" + kForms +
                        " for the local ledger, http(s):// or ws(s):// for Ethereum JSON-RPC; " +
                        "a file name with ':' is written file:NAME or ./NAME)");
}

Result<std::shared_ptr<LocalLedger>> open_local_ledger(const std::string& uri) {
  auto parsed = parse_settlement_uri(uri);
  if (!parsed) return parsed.error();
  if (parsed->backend != SettlementUri::Backend::local)
    return make_error(ErrorKind::fatal, "settlement_not_local",
                      std::string("not a local ledger file (") + kForms + ")");
  const std::string key = canonical_key(parsed->location);
  Cache& c = cache();
  // Held across the open, so that two first opens of one file still make one handle.
  std::lock_guard lock(c.mu);
  std::erase_if(c.local, [](const auto& entry) { return entry.second.expired(); });
  if (auto it = c.local.find(key); it != c.local.end())
    if (auto shared = it->second.lock()) return shared;
  auto opened = LocalLedger::open(parsed->location);
  if (!opened) return opened.error();
  std::shared_ptr<LocalLedger> shared = std::move(*opened);
  c.local[key] = shared;
  return shared;
}

Result<std::shared_ptr<Settlement>> open_settlement(const std::string& uri) {
  auto parsed = parse_settlement_uri(uri);
  if (!parsed) return parsed.error();
  if (parsed->backend == SettlementUri::Backend::ethereum)
    return make_error(
        ErrorKind::fatal, "settlement_unavailable",
        std::string("the Ethereum JSON-RPC settlement backend is not built yet; use ") +
            "the local ledger (" + kForms + ")");
  auto local = open_local_ledger(uri);
  if (!local) return local.error();
  return std::shared_ptr<Settlement>(std::move(*local));
}

}  // namespace lp::ledger
