// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "payment/common/bytes.h"
#include "payment/common/u256.h"

namespace lp::test {

inline nlohmann::json load_json(const std::string& name) {
  std::ifstream in(std::string(LP_TEST_DATA_DIR) + "/" + name);
  if (!in) throw std::runtime_error("missing test data " + name);
  return nlohmann::json::parse(in);
}

inline Bytes hex(const std::string& s) {
  auto b = from_hex(s);
  if (!b) throw std::runtime_error("bad hex in test: " + s);
  return *b;
}

template <std::size_t N>
std::array<std::uint8_t, N> hexn(const std::string& s) {
  auto b = from_hex_fixed<N>(s);
  if (!b) throw std::runtime_error("bad fixed hex in test: " + s);
  return *b;
}

inline U256 u256(const std::string& s) { return parse_u256(s).value(); }

/// A fresh directory removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lptest-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace lp::test
