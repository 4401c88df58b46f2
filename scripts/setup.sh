#!/usr/bin/env bash
# Installs everything the build and the tests need on Debian 12, idempotently:
# Debian packages (only those missing), the npm test tools (tests/js/node_modules) and the test
# clips (tests/data/media/make-media.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

debs=(
  # build
  build-essential meson ninja-build pkg-config
  # payment/: secp256k1, Keccak-256 (Crypto++), HMAC/scrypt/AES (OpenSSL), SQLite, JSON, 256-bit ints
  libsecp256k1-dev libcrypto++-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libboost-dev
  # GStreamer 1.22: the plugin, its elements' dependencies, and the tools and ffmpeg/ffprobe the
  # tests use as independent judges
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav ffmpeg
  # elements/net/: Livepeer's wire protocol (protobuf, gRPC) and its HTTPS side (libsoup 3, TLS
  # from glib-networking)
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev libsoup-3.0-dev glib-networking
  # node/orchestrator/: HTTP/2 on the one service port (gRPC and HTTPS share it)
  libnghttp2-dev
  # scripts/lint.sh: clang-format and clang-tidy with the repository's configs (clang-tidy brings
  # run-clang-tidy)
  clang-format clang-tidy
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev sqlite3 jq python3
  # the element tests' watchdog prints a stuck test's stacks with it
  gdb
  # tests/judge: a go-livepeer-style peer in Go (grpc-go, net/http with HTTP/2), built offline
  # at test time from Debian's Go packages; curl (with nghttp2) probes HTTP/2 in the CLI tests
  golang-go golang-google-grpc-dev golang-golang-x-net-dev golang-google-protobuf-dev
  golang-golang-x-crypto-dev protoc-gen-go protoc-gen-go-grpc curl
  # the player page's test: headless Chromium driven by playwright-core (npm)
  chromium
)
# Node.js and npm run the ethers.js cross-checks; a machine may already have them from elsewhere.
command -v npm >/dev/null 2>&1 || debs+=(nodejs npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm test tools (ethers.js as an independent Ethereum implementation, playwright-core to drive
# Chromium), pinned by the lock file.
if [ ! -d "$root/tests/js/node_modules/ethers" ] || [ ! -d "$root/tests/js/node_modules/playwright-core" ]; then
  echo "setup: installing npm test tools in tests/js" >&2
  (cd "$root/tests/js" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The player page's hls.js (served by lpnode gateway from web/node_modules), pinned by the lock file.
if [ ! -f "$root/web/node_modules/hls.js/dist/hls.min.js" ]; then
  echo "setup: installing the player's hls.js in web" >&2
  (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The test clips, made from synthetic sources (skipped when they are there and up to date).
bash "$root/tests/data/media/make-media.sh"
