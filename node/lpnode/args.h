// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lp::node {

/// Command-line flags of one subcommand: `--name value` or `--name=value`; every flag can
/// also come from the environment as LP_NAME (dashes become underscores) and from a config
/// file (`--config FILE` or LP_CONFIG: one `name value` per line, `#` comments, as
/// go-livepeer's -config), the command line winning over the environment over the file.
/// Flags in `switches` take no value.
class Args {
 public:
  Args(const std::vector<std::string>& argv, std::set<std::string> known,
       std::set<std::string> switches = {});

  /// Empty when every flag was known and had its value.
  const std::string& error() const { return error_; }
  std::optional<std::string> get(const std::string& name) const;
  bool flag(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> known_;
  std::set<std::string> switches_;
  void read_config(const std::string& path);

  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> file_values_;
  std::vector<std::string> positional_;
  std::string error_;
};

/// LP_ environment name of a flag: "key-file" -> "LP_KEY_FILE".
std::string env_name(const std::string& flag);

}  // namespace lp::node
