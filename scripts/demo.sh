#!/usr/bin/env bash
# The main job: sets up a Debian 12 machine (idempotently: Debian packages, the player's hls.js
# from npm), builds lpnode, and runs `lpnode demo`: an orchestrator and a gateway on loopback
# with the embedded local ledger, the sample clip looped in as a live SRT stream, and a player
# page whose URL it prints. Ctrl-C stops it cleanly. Flags go to lpnode demo (see --help), e.g.
#   bash scripts/demo.sh --http-addr 0.0.0.0:8935     # to watch from another machine
# State (keys, ledger, HLS) stays in ./demo-data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build -Dbuildtype=debugoptimized >/dev/null
ninja -C build node/lpnode >/dev/null
exec build/node/lpnode demo --dir "${LP_DEMO_DIR:-$root/demo-data}" "$@"
