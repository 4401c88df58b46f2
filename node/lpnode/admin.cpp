// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/lpnode/admin.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace lp::node {

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 9.0e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void on_route(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  const auto* routes = static_cast<const std::map<std::string, Route>*>(data);
  const char* method = soup_server_message_get_method(msg);
  auto it = routes->find(path);
  if (it == routes->end()) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  if (g_strcmp0(method, "GET") != 0 && g_strcmp0(method, "HEAD") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, nullptr);
    return;
  }
  const HttpReply r = it->second();
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "Cache-Control", "no-cache");
  soup_message_headers_append(h, "Access-Control-Allow-Origin", "*");
  soup_server_message_set_status(msg, static_cast<guint>(r.status), nullptr);
  soup_server_message_set_response(msg, r.content_type.c_str(), SOUP_MEMORY_COPY, r.body.data(),
                                   r.body.size());
}

}  // namespace

void PromText::add(const std::string& type, const std::string& name, const std::string& help,
                   double value, const Labels& labels) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    order_.push_back(name);
    it->second.type = type;
    it->second.help = help;
  }
  std::string sample = name;
  if (!labels.empty()) {
    sample += "{";
    for (std::size_t i = 0; i < labels.size(); ++i)
      sample += (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
    sample += "}";
  }
  it->second.samples.push_back(sample + " " + format_value(value));
}

void PromText::counter(const std::string& name, const std::string& help, double value,
                       const Labels& labels) {
  add("counter", name, help, value, labels);
}

void PromText::gauge(const std::string& name, const std::string& help, double value,
                     const Labels& labels) {
  add("gauge", name, help, value, labels);
}

std::string PromText::str() const {
  std::string out;
  for (const auto& name : order_) {
    const Family& f = families_.at(name);
    out.append("# HELP ").append(name).append(" ").append(f.help);
    out.append("\n# TYPE ").append(name).append(" ").append(f.type).append("\n");
    for (const auto& s : f.samples) out.append(s).append("\n");
  }
  return out;
}

HttpReply health_reply(const std::vector<std::string>& problems) {
  if (problems.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
  std::string body;
  for (const auto& p : problems) body += p + "\n";
  return {503, "text/plain; charset=utf-8", body};
}

bool udp_port_bound(int port) {
  char hex[8];
  std::snprintf(hex, sizeof hex, ":%04X ", static_cast<unsigned>(port) & 0xffffU);
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // "  sl  local_address rem_address ...": the local address is the second field.
      std::istringstream fields(line);
      std::string sl, local;
      fields >> sl >> local;
      if ((local + " ").find(hex) != std::string::npos) return true;
    }
  }
  return false;
}

std::string ledger_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return "the ledger " + path + " is gone (" + errno_text(errno) + ")";
  if (!S_ISREG(st.st_mode)) return "the ledger " + path + " is not a file any more";
  return "";
}

void add_routes(SoupServer* server, std::map<std::string, Route> routes) {
  auto* owned = new std::map<std::string, Route>(std::move(routes));
  std::vector<std::string> paths;
  for (const auto& [path, route] : *owned) paths.push_back(path);
  // The map is freed with the first path's handler; the others borrow it.
  for (std::size_t i = 0; i < paths.size(); ++i)
    soup_server_add_handler(
        server, paths[i].c_str(), on_route, owned,
        i == 0 ? [](gpointer p) { delete static_cast<std::map<std::string, Route>*>(p); }
               : static_cast<GDestroyNotify>(nullptr));
}

Result<std::unique_ptr<orch::Http1Front>> listen_plain(SoupServer* server, const std::string& host,
                                                       int port, int* bound) {
  auto front = std::make_unique<orch::Http1Front>(server, orch::Http1Front::Limits{});
  Result<int> got = front->listen(host, port);
  if (!got) return got.error();
  *bound = *got;
  return front;
}

AdminServer::~AdminServer() { stop(); }

Result<int> AdminServer::start(const std::string& host, int port,
                               std::map<std::string, Route> routes) {
  context_ = g_main_context_new();
  loop_ = g_main_loop_new(context_, FALSE);
  Result<int> bound = make_error(ErrorKind::fatal, "listen", "not started");
  thread_ = std::thread([&, this] {
    g_main_context_push_thread_default(context_);
    SoupServer* server = soup_server_new("server-header", "lpnode", nullptr);
    add_routes(server, std::move(routes));
    // Only this thread's own copy is read after start() returns (start()'s locals are gone).
    int port_bound = 0;
    auto front = listen_plain(server, host, port, &port_bound);
    Result<int> mine = front ? Result<int>(port_bound) : Result<int>(front.error());
    const bool run = mine.ok();
    {
      std::lock_guard lock(mu_);
      bound = std::move(mine);
      started_ = true;
    }
    cv_.notify_all();
    if (run) g_main_loop_run(loop_);
    if (front) front->reset();
    soup_server_disconnect(server);
    g_object_unref(server);
    g_main_context_pop_thread_default(context_);
  });
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return started_; });
  Result<int> out = bound;
  lock.unlock();
  if (!out) stop();
  return out;
}

void AdminServer::stop() {
  if (thread_.joinable()) {
    // Quit from inside the loop: a quit before the thread reached g_main_loop_run would be lost.
    GSource* quit = g_idle_source_new();
    g_source_set_callback(
        quit,
        [](gpointer loop) {
          g_main_loop_quit(static_cast<GMainLoop*>(loop));
          return G_SOURCE_REMOVE;
        },
        loop_, nullptr);
    g_source_attach(quit, context_);
    g_source_unref(quit);
    thread_.join();
  }
  if (loop_) g_main_loop_unref(loop_);
  if (context_) g_main_context_unref(context_);
  loop_ = nullptr;
  context_ = nullptr;
}

}  // namespace lp::node
