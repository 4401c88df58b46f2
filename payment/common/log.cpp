// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/common/log.h"

#include <cstdio>

namespace lp::log {

namespace {
Sink& sink() {
  static Sink s = [](Level level, const std::string& m) {
    if (level <= Level::warning)
      std::fprintf(stderr, "%s: %s\n", level == Level::error ? "error" : "warning", m.c_str());
  };
  return s;
}
}  // namespace

void set_sink(Sink s) { sink() = std::move(s); }

void write(Level level, const std::string& message) {
  if (sink()) sink()(level, message);
}

}  // namespace lp::log
