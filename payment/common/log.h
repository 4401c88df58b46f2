// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <string>

namespace lp::log {

enum class Level { error, warning, info, debug };

/// Where library log lines go; the node routes them to GStreamer's lpcore category or stderr.
using Sink = std::function<void(Level, const std::string&)>;

/// Replaces the sink (stderr for warnings and errors by default). Not thread-safe: set it at start.
void set_sink(Sink sink);
void write(Level level, const std::string& message);

inline void error(const std::string& m) { write(Level::error, m); }
inline void warning(const std::string& m) { write(Level::warning, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void debug(const std::string& m) { write(Level::debug, m); }

}  // namespace lp::log
