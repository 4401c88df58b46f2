// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode demo`: the whole node on one machine. It makes (once) two keys and a local ledger in
// which the gateway has a deposit and a reserve, starts `lpnode orchestrator` and
// `lpnode gateway` as child processes on loopback, streams the sample clip in a loop into the
// gateway's SRT listener with ffmpeg (as a live encoder would), and prints the player's URL.
// Ctrl-C or SIGTERM stops it in order: the gateway first (the stream ends, playlists get
// EXT-X-ENDLIST), then the source, then the orchestrator (winning tickets stay queued in the
// ledger file for the next start).
#include <fcntl.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "node/lpnode/cli_util.h"
#include "payment/common/bytes.h"
#include "payment/eth/keystore.h"
#include "payment/ledger/local_ledger.h"
#include "payment/ledger/settlement.h"

namespace lp::node {

namespace {

namespace fs = std::filesystem;

const char* kDemoHelp = R"(Usage: lpnode demo [flags]

Runs a whole Livepeer node on this machine and plays it in a browser:
  - keys for a gateway and an orchestrator, and an embedded local ledger in which the gateway
    has 1 ETH of deposit and 1 ETH of reserve (made once, in --dir, and reused),
  - `lpnode orchestrator` on loopback (CPU or NVIDIA transcoding, price 200000 wei per pixel,
    tickets of at most 0.00005 ETH face value so that winners come often),
  - `lpnode gateway` on --http-addr, which pays the orchestrator with tickets, verifies what
    comes back and publishes HLS,
  - the sample clip looped into the gateway's SRT listener by ffmpeg at real-time speed (or
    --input: your own SRT stream or file),
and prints the player page's URL. The page plays the HLS with hls.js (served locally, no
internet needed), switches renditions and shows the payments as they happen.

Ctrl-C (or SIGTERM) stops it cleanly: the stream ends, playlists get EXT-X-ENDLIST, winning
tickets stay queued in the ledger for redemption at the next start; exit 0.

Flags:
  --dir DIR             where keys, ledger and HLS live (default ./demo-data)
  --http-addr H:P       the gateway's HTTP address: player, HLS, /status, /metrics
                        (default 127.0.0.1:8935; port 0: any free port)
  --input URI|FILE      instead of the looped clip: srt://:PORT?mode=listener to push your own
                        stream (ffmpeg, OBS), srt://HOST:PORT to pull one, or an MPEG-TS file
  --clip FILE           the clip to loop (default the repository's 1080p30 sample)
  --profiles LIST|FILE  the ladder (default P240p30fps16x9,P360p30fps16x9)
  --config FILE         flags from a file, one `name value` per line (env LP_CONFIG)

Examples:
  lpnode demo                                   # then open the printed URL
  lpnode demo --input 'srt://:9000?mode=listener'
  ffmpeg -re -i my.ts -c copy -f mpegts 'srt://127.0.0.1:9000?pkt_size=1316'
)";

std::atomic<int> g_signals{0};

struct Child {
  std::string name;
  pid_t pid = -1;
  int out = -1;  ///< its stdout, when captured
  std::string output;
  int status = -1;  ///< exit status once reaped
};

/// Starts argv[0] with the rest as arguments, in its own process group (so that a terminal's
/// Ctrl-C reaches only the demo, which stops the children in order) and killed with SIGTERM if
/// the demo dies. stdout is captured when `capture`; stderr is shared.
Result<Child> spawn(const std::string& name, const std::vector<std::string>& argv, bool capture) {
  int fds[2] = {-1, -1};
  if (capture && pipe2(fds, O_CLOEXEC) != 0) {
    const int e = errno;
    return make_error(ErrorKind::fatal, "spawn", name + ": pipe: " + errno_text(e));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    return make_error(ErrorKind::fatal, "spawn", name + ": fork: " + errno_text(e));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    if (capture)
      dup2(fds[1], STDOUT_FILENO);
    else if (int null = open("/dev/null", O_WRONLY); null >= 0)
      dup2(null, STDOUT_FILENO);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    // The forked child runs one thread, so strerror's static buffer is safe here.
    std::fprintf(stderr, "lpnode demo: cannot run %s: %s\n", args[0],
                 std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    _exit(127);
  }
  Child c{name, pid, -1, "", -1};
  if (capture) {
    close(fds[1]);
    c.out = fds[0];
  }
  return c;
}

/// Whether the child has exited (reaping it).
bool exited(Child& c) {
  if (c.status >= 0) return true;
  int st = 0;
  if (waitpid(c.pid, &st, WNOHANG) == c.pid) {
    c.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
  }
  return false;
}

/// Reads the child's stdout until a full line arrives (its JSON "ready" line), or it exits, or
/// the time is up.
std::optional<std::string> first_line(Child& c, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end && g_signals == 0) {
    if (auto nl = c.output.find('\n'); nl != std::string::npos) {
      std::string line = c.output.substr(0, nl);
      c.output.erase(0, nl + 1);
      return line;
    }
    pollfd p{c.out, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char buf[4096];
      const ssize_t n = read(c.out, buf, sizeof buf);
      if (n <= 0) return std::nullopt;  // it closed stdout: exited
      c.output.append(buf, static_cast<std::size_t>(n));
    }
  }
  return std::nullopt;
}

/// Waits up to `limit` for the child to exit by itself.
bool exits_within(Child& c, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!exited(c)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

/// SIGTERM, then waits up to `limit` before SIGKILL. Returns the exit status.
int stop(Child& c, std::chrono::seconds limit) {
  if (c.pid <= 0) return 0;
  if (!exited(c)) kill(c.pid, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!exited(c)) {
    if (std::chrono::steady_clock::now() > end) {
      std::fprintf(stderr, "lpnode demo: %s did not stop in %lld s: killed\n", c.name.c_str(),
                   static_cast<long long>(limit.count()));
      kill(c.pid, SIGKILL);
      waitpid(c.pid, nullptr, 0);
      c.status = 137;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (c.out >= 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(c.out, buf, sizeof buf)) > 0)
      c.output.append(buf, static_cast<std::size_t>(n));
    close(c.out);
    c.out = -1;
  }
  return c.status;
}

/// A UDP port free right now, for the gateway's SRT listener.
int free_udp_port() {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (s >= 0 && bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (s >= 0) close(s);
  return port;
}

Result<Address> key_in(const std::string& path) {
  if (!fs::exists(path)) {
    PrivateKey key = PrivateKey::generate();
    if (auto st = write_secret_file(path, to_hex(key.secret(), false) + "\n"); !st)
      return st.error();
    return key.address();
  }
  Args a({"--key-file", path}, {"key-file", "passphrase-file"});
  auto key = key_from(a);
  if (!key) return key.error();
  return key->address();
}

/// GET over plain HTTP on loopback; empty on any failure.
std::string http_get(const std::string& url) {
  SoupSession* session = soup_session_new_with_options("timeout", 10, nullptr);
  SoupMessage* msg = soup_message_new("GET", url.c_str());
  std::string body;
  if (msg) {
    GBytes* bytes = soup_session_send_and_read(session, msg, nullptr, nullptr);
    if (bytes && soup_message_get_status(msg) == SOUP_STATUS_OK) {
      gsize size = 0;
      const auto* data = static_cast<const char*>(g_bytes_get_data(bytes, &size));
      body.assign(data, size);
    }
    if (bytes) g_bytes_unref(bytes);
    g_object_unref(msg);
  }
  g_object_unref(session);
  return body;
}

std::string json_field(const std::string& line, const char* field) {
  try {
    auto j = nlohmann::json::parse(line);
    return j.value(field, "");
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

int demo_main(const std::vector<std::string>& argv) {
  const std::string cmd = "demo";
  Args args(argv, {"dir", "http-addr", "input", "clip", "profiles"}, {"help"});
  if (args.flag("help")) {
    std::cout << kDemoHelp;
    return kExitOk;
  }
  if (!args.error().empty())
    return fail(cmd, args.error() + " (see lpnode demo --help)", kExitUsage);
  const fs::path dir = args.get("dir").value_or("demo-data");
  const std::string http_addr = args.get("http-addr").value_or("127.0.0.1:8935");
  const std::string profiles = args.get("profiles").value_or("P240p30fps16x9,P360p30fps16x9");
  const std::string clip = args.get("clip").value_or(
      std::string(LPNODE_SOURCE_DIR) + "/tests/data/media/live-1080p30-h264-aac-16s-gop2.ts");
  const auto input = args.get("input");
  {
    std::string host;
    int port = 0;
    if (!split_host_port(http_addr, &host, &port))
      return fail(cmd, "--http-addr must be HOST:PORT", kExitUsage);
  }
  if (!input && !fs::is_regular_file(clip))
    return fail(cmd, "--clip: no such file: " + clip, kExitUsage);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(cmd, "--dir: cannot create " + dir.string() + ": " + ec.message(), kExitFailed);

  // Keys and the ledger, made once.
  const std::string gw_key = (dir / "gateway.key").string(),
                    o_key = (dir / "orchestrator.key").string();
  const std::string ledger_path = (dir / "ledger.db").string();
  auto gw = key_in(gw_key);
  if (!gw) return fail(cmd, gw_key + ": " + gw.error().message, kExitFailed);
  if (auto o = key_in(o_key); !o) return fail(cmd, o_key + ": " + o.error().message, kExitFailed);
  {
    auto ledger = ledger::open_local_ledger(ledger_path);
    if (!ledger) return fail(cmd, ledger_path + ": " + ledger.error().message, kExitFailed);
    auto info = (*ledger)->sender_info(*gw);
    if (!info) return fail(cmd, ledger_path + ": " + info.error().message, kExitFailed);
    const U256 eth = U256(1'000'000'000'000'000'000ULL);
    if (info->deposit < eth / 2 || info->reserve < eth / 2 || info->unlock_in_progress())
      if (auto st = (*ledger)->fund(*gw, eth, eth); !st)
        return fail(cmd, "funding: " + st.error().message, kExitFailed);
  }
  std::error_code ignored;
  fs::remove_all(dir / "hls", ignored);  // a new stream: no stale segments in the playlists

  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fail(cmd, "cannot find the lpnode executable", kExitFailed);
  self[n] = '\0';

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_signals.fetch_add(1); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto orch = spawn("orchestrator",
                    {self, "orchestrator", "--key-file", o_key, "--ledger", ledger_path,
                     "--service-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                     "--price-per-unit", "200000", "--pixels-per-unit", "1",
                     // Small tickets, so that a short demo shows winners queued and redeemed.
                     "--max-face-value", "50000000000000"},
                    true);
  if (!orch) return fail(cmd, orch.error().message, kExitFailed);
  const auto orch_line = first_line(*orch, std::chrono::seconds(60));
  if (!orch_line) {
    stop(*orch, std::chrono::seconds(10));
    return fail(cmd, "the orchestrator did not start (its messages are above)", kExitFailed);
  }
  const std::string service = json_field(*orch_line, "service");

  int srt_port = 0;
  std::string gateway_input;
  if (input) {
    gateway_input = *input;
  } else {
    srt_port = free_udp_port();
    gateway_input = "srt://127.0.0.1:" + std::to_string(srt_port) + "?mode=listener";
  }
  auto gateway =
      spawn("gateway",
            {self, "gateway", "--key-file", gw_key, "--ledger", ledger_path, "--orchestrators",
             service, "--input", gateway_input, "--http-addr", http_addr, "--hls-dir",
             (dir / "hls").string(), "--profiles", profiles, "--stream-name", "demo"},
            true);
  if (!gateway) {
    stop(*orch, std::chrono::seconds(30));
    return fail(cmd, gateway.error().message, kExitFailed);
  }
  const auto gw_line = first_line(*gateway, std::chrono::seconds(60));
  if (!gw_line) {
    stop(*gateway, std::chrono::seconds(10));
    stop(*orch, std::chrono::seconds(30));
    return fail(cmd, "the gateway did not start (its messages are above)", kExitFailed);
  }

  Child source;
  if (!input) {
    auto s = spawn("ffmpeg",
                   {"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
                    "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "mpegts",
                    "srt://127.0.0.1:" + std::to_string(srt_port) + "?pkt_size=1316"},
                   false);
    if (!s) {
      stop(*gateway, std::chrono::seconds(60));
      stop(*orch, std::chrono::seconds(30));
      return fail(cmd, s.error().message, kExitFailed);
    }
    source = *s;
  }

  const std::string player = json_field(*gw_line, "player");
  nlohmann::json ready = {{"player", player},
                          {"hls", json_field(*gw_line, "hls")},
                          {"status", json_field(*gw_line, "status")},
                          {"orchestrator", service},
                          {"orchestrator_admin", json_field(*orch_line, "admin")},
                          {"dir", dir.string()}};
  std::printf("%s\n", ready.dump().c_str());
  std::fflush(stdout);
  std::fprintf(
      stderr,
      "\nlpnode demo: running. Open the player:  %s\n"
      "  (first segments in a few seconds; /status and /metrics beside it; Ctrl-C stops)\n\n",
      player.c_str());

  // Until a signal, or a child ends on its own (the source's end, an input file's end, a crash).
  int code = kExitOk;
  while (g_signals == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (exited(*gateway)) {
      if (gateway->status != 0) code = kExitFailed;
      break;
    }
    if (exited(*orch)) {
      std::fprintf(stderr, "lpnode demo: the orchestrator exited (status %d)\n", orch->status);
      code = kExitFailed;
      break;
    }
    if (source.pid > 0 && exited(source)) {
      std::fprintf(stderr, "lpnode demo: the source (ffmpeg) exited (status %d): stopping\n",
                   source.status);
      code = kExitFailed;
      break;
    }
  }
  std::fprintf(
      stderr,
      "lpnode demo: stopping: the source, the gateway (ends the stream), then the orchestrator\n");
  if (source.pid > 0) stop(source, std::chrono::seconds(10));
  // The SRT caller leaving ends the gateway's stream: it finishes every segment in flight and
  // exits by itself (a SIGTERM gives them only its few seconds of grace).
  if (source.pid > 0) exits_within(*gateway, std::chrono::seconds(60));
  if (stop(*gateway, std::chrono::seconds(90)) != 0) code = kExitFailed;
  // The orchestrator's books once no more segments come, before it stops.
  const std::string orch_status = http_get(json_field(*orch_line, "admin") + "/status");
  if (stop(*orch, std::chrono::seconds(60)) != 0) code = kExitFailed;

  // The gateway's summary (its last stdout line) and the winners waiting in the ledger.
  std::string summary = gateway->output;
  while (!summary.empty() && summary.back() == '\n') summary.pop_back();
  if (auto nl = summary.rfind('\n'); nl != std::string::npos) summary = summary.substr(nl + 1);
  nlohmann::json out = nlohmann::json::object();
  try {
    if (!summary.empty()) out["gateway"] = nlohmann::json::parse(summary);
    if (!orch_status.empty()) out["orchestrator"] = nlohmann::json::parse(orch_status);
  } catch (const std::exception&) {
  }
  std::printf("%s\n", out.dump().c_str());
  if (out.contains("gateway") && out.contains("orchestrator")) {
    // The same in words, for the terminal: EVs are exact rationals in the JSON.
    const auto eth = [](const nlohmann::json& wei) {
      if (!wei.is_string()) return 0.0;
      try {
        return Rational(wei.get<std::string>()).convert_to<double>() / 1e18;
      } catch (const std::exception&) {
        return 0.0;
      }
    };
    const nlohmann::json& gj = out["gateway"];
    const nlohmann::json& oj = out["orchestrator"];
    std::fprintf(stderr,
                 "lpnode demo: %llu segments transcoded and verified, %llu tickets worth %.6f ETH "
                 "in expected value, "
                 "%llu winning, %llu redeemed so far\n",
                 gj.value("segments", 0ULL), gj.value("tickets_sent", 0ULL),
                 eth(gj.value("ev_sent", nlohmann::json())), oj.value("winning_tickets_recv", 0ULL),
                 oj.value("redeemed", 0ULL));
  }
  std::fprintf(stderr, "lpnode demo: stopped. HLS in %s, ledger %s (lpnode ledger --db %s queue)\n",
               (dir / "hls").string().c_str(), ledger_path.c_str(), ledger_path.c_str());
  return code;
}

}  // namespace lp::node
