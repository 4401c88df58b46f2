// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/net/protocol.h"

#include <charconv>

namespace lp::net {

std::string rendition_url(std::string_view base, std::string_view session, std::string_view profile,
                          std::int64_t seq) {
  std::string url(base);
  url.append(kStreamPath).append(session).append("/").append(profile).append("/");
  url.append(std::to_string(seq)).append(".ts");
  return url;
}

std::optional<RenditionPath> parse_rendition_path(std::string_view path) {
  const std::string_view prefix(kStreamPath);
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  path.remove_prefix(prefix.size());
  const auto slash1 = path.find('/');
  if (slash1 == std::string_view::npos || slash1 == 0) return std::nullopt;
  const auto slash2 = path.find('/', slash1 + 1);
  if (slash2 == std::string_view::npos || slash2 == slash1 + 1) return std::nullopt;
  std::string_view last = path.substr(slash2 + 1);
  if (last.find('/') != std::string_view::npos || last.size() <= 3 ||
      last.substr(last.size() - 3) != ".ts")
    return std::nullopt;
  last.remove_suffix(3);
  RenditionPath out;
  const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), out.seq);
  if (ec != std::errc() || end != last.data() + last.size() || out.seq < 0) return std::nullopt;
  out.session = std::string(path.substr(0, slash1));
  out.profile = std::string(path.substr(slash1 + 1, slash2 - slash1 - 1));
  return out;
}

}  // namespace lp::net
