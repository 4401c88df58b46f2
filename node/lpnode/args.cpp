// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/lpnode/args.h"

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace lp::node {

std::string env_name(const std::string& flag) {
  std::string out = "LP_";
  for (char c : flag)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Args::Args(const std::vector<std::string>& argv, std::set<std::string> known,
           std::set<std::string> switches)
    : known_(std::move(known)), switches_(std::move(switches)) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (!known_.count(name) && !switches_.count(name) && name != "config") {
      error_ = "unknown flag --" + name;
      return;
    }
    if (switches_.count(name)) {
      values_[name] = value.value_or("true");
      continue;
    }
    if (!value) {
      if (i + 1 >= argv.size()) {
        error_ = "flag --" + name + " needs a value";
        return;
      }
      value = argv[++i];
    }
    values_[name] = *value;
  }
  std::optional<std::string> config;
  if (auto it = values_.find("config"); it != values_.end())
    config = it->second;
  else if (const char* env = std::getenv("LP_CONFIG"); env && *env)
    config = env;
  if (config) read_config(*config);
}

void Args::read_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    error_ = "--config: cannot read " + path;
    return;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
    auto sep = line.find_first_of(" \t=");
    std::string name = line.substr(0, sep);
    if (name.rfind("--", 0) == 0) name = name.substr(2);
    std::string value;
    if (sep != std::string::npos) {
      value = line.substr(sep + 1);
      value.erase(0, value.find_first_not_of(" \t="));
    }
    const std::string where = path + ":" + std::to_string(n) + ": ";
    if (name == "config" || (!known_.count(name) && !switches_.count(name))) {
      error_.assign(where).append("unknown setting ").append(name);
      return;
    }
    if (value.empty() && !switches_.count(name)) {
      error_ = where + name + " needs a value";
      return;
    }
    file_values_[name] = value.empty() ? "true" : value;
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (const char* env = std::getenv(env_name(name).c_str()); env && *env) return std::string(env);
  if (auto it = file_values_.find(name); it != file_values_.end()) return it->second;
  return std::nullopt;
}

bool Args::flag(const std::string& name) const {
  auto v = get(name);
  return v && *v != "false" && *v != "0";
}

}  // namespace lp::node
