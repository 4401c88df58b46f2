// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/lpnode/cli_util.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "payment/eth/keystore.h"

namespace lp::node {

int fail(const std::string& cmd, const std::string& message, int code) {
  std::cerr << "lpnode " << cmd << ": " << message << "\n";
  return code;
}

int fail(const std::string& cmd, const Error& e) {
  return fail(cmd, e.message, e.kind == ErrorKind::invalid_input ? kExitUsage : kExitFailed);
}

std::optional<nlohmann::json> read_stdin_json(std::string* why) {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    *why = text.empty() ? "expected JSON on standard input, got nothing"
                        : "standard input is not valid JSON";
    return std::nullopt;
  }
  return doc;
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

Result<std::optional<std::string>> passphrase_from(const Args& args) {
  if (auto file = args.get("passphrase-file")) {
    std::ifstream in(*file);
    if (!in)
      return make_error(ErrorKind::invalid_input, "bad_passphrase_file",
                        "cannot read passphrase file '" + *file + "'");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return std::optional<std::string>(line);
  }
  if (const char* env = std::getenv("LP_PASSPHRASE"))
    return std::optional<std::string>(std::string(env));
  return std::optional<std::string>();
}

Result<PrivateKey> key_from(const Args& args) {
  auto path = args.get("key-file");
  if (!path) return make_error(ErrorKind::invalid_input, "usage", "--key-file is required");
  auto pass = passphrase_from(args);
  if (!pass) return pass.error();
  return load_key_file(*path, *pass);
}

Result<std::int64_t> int_flag(const Args& args, const char* name, std::int64_t fallback,
                              std::int64_t min) {
  auto v = args.get(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    const long long n = std::stoll(*v, &used);
    if (used == v->size() && n >= min) return static_cast<std::int64_t>(n);
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): reported below
  }
  return make_error(
      ErrorKind::invalid_input, "usage",
      std::string("--") + name + " must be an integer of at least " + std::to_string(min));
}

bool split_host_port(const std::string& addr, std::string* host, int* port) {
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = addr.substr(0, colon);
  try {
    std::size_t used = 0;
    *port = std::stoi(addr.substr(colon + 1), &used);
    return used == addr.size() - colon - 1 && *port >= 0 && *port <= 65535;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace lp::node
