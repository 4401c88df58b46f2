// SPDX-License-Identifier: LGPL-2.1-or-later
// lpnode: the Livepeer node host. main only dispatches to the subcommands.
#include <sys/resource.h>

#include <iostream>
#include <string>
#include <vector>

#include "node/lpnode/cli_util.h"

namespace {

const char* kHelp = R"(Usage: lpnode <command> [flags]

A node of the Livepeer live-video network.

Commands:
  demo          the whole node on this machine: orchestrator + gateway on loopback, a looping
                sample stream, a player page in the browser (start here)
  pm            keys and tickets: keygen, address, sign-ticket, check-ticket
  ledger        the embedded local ledger and the winning-ticket queue
  transcode     a video file into a Livepeer ABR ladder, segment by segment, as an orchestrator does
  orchestrator  the orchestrator service: gRPC + HTTPS, payment before work, transcoding
  gateway       a live stream in (SRT, file), paid remote transcoding, verification, HLS out

Run `lpnode <command> --help` for its flags and examples. Every flag can also be set in the
environment as LP_<FLAG> (for example LP_KEY_FILE for --key-file) or in a file given with
--config (one `name value` per line); the command line wins, then the environment, then the file.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kHelp;
    return args.empty() ? lp::node::kExitUsage : lp::node::kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "lpnode " << LPNODE_VERSION << "\n";
    return 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  // A server holds a descriptor per connection: the soft limit (1024 on Debian) up to the hard
  // one, as Go's runtime does for go-livepeer.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  try {
    if (cmd == "pm") return lp::node::pm_main(args);
    if (cmd == "ledger") return lp::node::ledger_main(args);
    if (cmd == "transcode") return lp::node::transcode_main(args);
    if (cmd == "orchestrator") return lp::node::orchestrator_main(args);
    if (cmd == "gateway") return lp::node::gateway_main(args);
    if (cmd == "demo") return lp::node::demo_main(args);
  } catch (const std::exception& e) {
    return lp::node::fail(cmd, std::string("internal error: ") + e.what(), lp::node::kExitFailed);
  }
  return lp::node::fail(cmd, "unknown command (see lpnode --help)", lp::node::kExitUsage);
}
