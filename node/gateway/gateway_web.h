// SPDX-License-Identifier: LGPL-2.1-or-later
// The files `lpnode gateway` serves: /hls/... (the HLS directory, nothing outside it), /player/
// (the page, its script and hls.js from npm's node_modules) and / (a redirect to the player).
#pragma once

#include <string>

typedef struct _SoupServer SoupServer;

namespace lp::gw {

/// Adds the handlers; the strings must outlive the server.
void add_file_routes(SoupServer* server, const std::string* hls_dir, const std::string* web_dir);

}  // namespace lp::gw
