// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/lpnode/args.h"
#include "payment/common/result.h"
#include "payment/eth/signature.h"

namespace lp::node {

/// Exit codes of every lpnode command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  ///< the operation ran and said no (invalid ticket, revert)
inline constexpr int kExitUsage = 2;   ///< bad flags or malformed input

/// Prints "lpnode <cmd>: <message>" on stderr and returns the exit code.
int fail(const std::string& cmd, const std::string& message, int code);
int fail(const std::string& cmd, const Error& e);

/// Reads all of stdin as JSON; nullopt (with the parse error in *why) when it is not JSON.
std::optional<nlohmann::json> read_stdin_json(std::string* why);
/// Pretty JSON on stdout.
void print_json(const nlohmann::json& j);

/// The passphrase for an encrypted key: --passphrase-file's first line, or LP_PASSPHRASE.
Result<std::optional<std::string>> passphrase_from(const Args& args);
/// The key of --key-file (raw hex or keystore v3, with passphrase_from's passphrase).
Result<PrivateKey> key_from(const Args& args);

/// An integer flag of at least `min`, or `fallback` when absent.
Result<std::int64_t> int_flag(const Args& args, const char* name, std::int64_t fallback,
                              std::int64_t min);
/// "host:port" (port 0-65535).
bool split_host_port(const std::string& addr, std::string* host, int* port);

int pm_main(const std::vector<std::string>& argv);
int ledger_main(const std::vector<std::string>& argv);
int transcode_main(const std::vector<std::string>& argv);
int orchestrator_main(const std::vector<std::string>& argv);
int gateway_main(const std::vector<std::string>& argv);
int demo_main(const std::vector<std::string>& argv);

}  // namespace lp::node
