// SPDX-License-Identifier: LGPL-2.1-or-later
// What an operator's tools read from a running node: /metrics in Prometheus text format,
// /healthz and a JSON /status. Shared by `lpnode orchestrator` (on its own plain-HTTP admin
// port, as go-livepeer's CLI port 7935) and `lpnode gateway` (on its HTTP port, beside HLS).
#pragma once

#include <libsoup/soup.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "node/orchestrator/http1_front.h"
#include "payment/common/result.h"

namespace lp::node {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Prometheus text exposition format 0.0.4: one HELP and TYPE per family, samples below it,
/// label values escaped.
class PromText {
 public:
  void counter(const std::string& name, const std::string& help, double value,
               const Labels& labels = {});
  void gauge(const std::string& name, const std::string& help, double value,
             const Labels& labels = {});
  std::string str() const;

 private:
  void add(const std::string& type, const std::string& name, const std::string& help, double value,
           const Labels& labels);
  struct Family {
    std::string type, help;
    std::vector<std::string> samples;
  };
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
/// Runs on the server's main context, once per request.
using Route = std::function<HttpReply()>;

/// /healthz: 200 "ok" when `problems` is empty, else 503 with one line per problem.
HttpReply health_reply(const std::vector<std::string>& problems);
/// Whether a UDP socket on this host is bound to `port` (/proc/net/udp and udp6): the SRT
/// listener of a gateway's input.
bool udp_port_bound(int port);
/// Why the ledger file at `path` is unusable ("" when it is there): a deleted or moved file
/// leaves SQLite writing to an unlinked inode, which is lost at the next start.
std::string ledger_problem(const std::string& path);

/// GET/HEAD handlers for exact paths on a server; the routes live as long as the server.
void add_routes(SoupServer* server, std::map<std::string, Route> routes);

/// Listens on host:port (port 0: any free port), every connection through the Http1Front
/// returned (it must live as long as the server serves; ended before the server), and sets
/// *bound to the port bound; or says why not, naming the address ("127.0.0.1:7935: address
/// already in use").
Result<std::unique_ptr<orch::Http1Front>> listen_plain(SoupServer* server, const std::string& host,
                                                       int port, int* bound);

/// A plain-HTTP server with its own thread and main context, for the orchestrator's admin port.
class AdminServer {
 public:
  ~AdminServer();
  Result<int> start(const std::string& host, int port, std::map<std::string, Route> routes);
  void stop();

 private:
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
};

}  // namespace lp::node
