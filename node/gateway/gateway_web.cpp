// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/gateway/gateway_web.h"

#include <libsoup/soup.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace lp::gw {

namespace {

namespace fs = std::filesystem;

/// Answers 200 with a file's bytes, or 404 when it cannot be read; returns whether it was 200.
bool serve_file(SoupServerMessage* msg, const fs::path& file, const char* content_type) {
  std::ifstream f(file, std::ios::binary);
  if (!f || fs::is_directory(file)) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return false;
  }
  std::ostringstream body;
  body << f.rdbuf();
  const std::string b = body.str();
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, b.data(), b.size());
  return true;
}

/// GET /hls/...: files under the HLS directory, nothing outside it.
void on_hls(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  const auto* dir = static_cast<const std::string*>(data);
  if (g_strcmp0(soup_server_message_get_method(msg), "GET") != 0 &&
      g_strcmp0(soup_server_message_get_method(msg), "HEAD") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, nullptr);
    return;
  }
  const std::string rel = std::string(path).substr(std::strlen("/hls"));
  if (rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  const fs::path file =
      fs::path(*dir) / (rel.empty() || rel == "/" ? std::string("index.m3u8") : rel.substr(1));
  const bool playlist = file.extension() == ".m3u8";
  if (!serve_file(msg, file, playlist ? "application/vnd.apple.mpegurl" : "video/mp2t")) return;
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_append(h, "Cache-Control", playlist ? "no-cache" : "max-age=3600");
}

/// GET /player/...: the page, its script, and hls.js from npm's node_modules.
void on_player(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  const auto* web = static_cast<const std::string*>(data);
  std::string rel = std::string(path).substr(std::strlen("/player"));
  if (rel.empty() || rel == "/") rel = "/index.html";
  static const std::map<std::string, std::pair<std::string, const char*>> files = {
      {"/index.html", {"player.html", "text/html; charset=utf-8"}},
      {"/player.js", {"player.js", "text/javascript; charset=utf-8"}},
      {"/hls.min.js", {"node_modules/hls.js/dist/hls.min.js", "text/javascript; charset=utf-8"}},
  };
  auto it = files.find(rel);
  if (it == files.end()) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  serve_file(msg, fs::path(*web) / it->second.first, it->second.second);
}

void on_root(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer) {
  if (g_strcmp0(path, "/") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  soup_server_message_set_redirect(msg, SOUP_STATUS_FOUND, "/player/");
}

}  // namespace

void add_file_routes(SoupServer* server, const std::string* hls_dir, const std::string* web_dir) {
  soup_server_add_handler(server, "/hls", on_hls, const_cast<std::string*>(hls_dir), nullptr);
  soup_server_add_handler(server, "/player", on_player, const_cast<std::string*>(web_dir), nullptr);
  soup_server_add_handler(server, "/", on_root, nullptr, nullptr);
}

}  // namespace lp::gw
