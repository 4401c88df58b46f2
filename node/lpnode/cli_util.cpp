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
    *why = text.empty() ? "expected JSON on standard input, got nothing" : "standard input is not valid JSON";
    return std::nullopt;
  }
  return doc;
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

Result<std::optional<std::string>> passphrase_from(const Args& args) {
  if (auto file = args.get("passphrase-file")) {
    std::ifstream in(*file);
    if (!in) return make_error(ErrorKind::invalid_input, "bad_passphrase_file", "cannot read passphrase file '" + *file + "'");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return std::optional<std::string>(line);
  }
  if (const char* env = std::getenv("LP_PASSPHRASE")) return std::optional<std::string>(std::string(env));
  return std::optional<std::string>();
}

Result<PrivateKey> key_from(const Args& args) {
  auto path = args.get("key-file");
  if (!path) return make_error(ErrorKind::invalid_input, "usage", "--key-file is required");
  auto pass = passphrase_from(args);
  if (!pass) return pass.error();
  return load_key_file(*path, *pass);
}

}  // namespace lp::node
