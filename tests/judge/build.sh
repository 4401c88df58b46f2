#!/usr/bin/env bash
# Builds the Go test peer `lpjudge` offline (GOPATH mode, Debian's Go packages) into OUTDIR:
#   OUTDIR/gen/src/lpgen/lpnet   Go code generated from elements/net/lp_rpc.proto
#   OUTDIR/gopath/src/lpjudge    a symlink to tests/judge (nothing is written into the repo)
#   OUTDIR/lpjudge               the binary (subcommands: gateway, orchestrator)
# Idempotent: run it again to rebuild. On failure it prints one line starting "build.sh:".
# Usage: tests/judge/build.sh OUTDIR
set -u -o pipefail

fail() { echo "build.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: build.sh OUTDIR"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || fail "cannot find the script's directory"
REPO=$(cd "$HERE/../.." && pwd)
PROTO_DIR="$REPO/elements/net"
mkdir -p "$1" || fail "cannot create $1"
OUT=$(cd "$1" && pwd)

for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || fail "$tool not found (Debian: golang-go protobuf-compiler golang-goprotobuf-dev protoc-gen-go-grpc)"
done
[ -d /usr/share/gocode/src/google.golang.org/grpc ] || fail "grpc-go not in /usr/share/gocode (Debian: golang-google-grpc-dev)"

# One build at a time per OUTDIR (the judge's tests may run in parallel and share it).
exec 9>"$OUT/.lock" || fail "cannot write $OUT/.lock"
flock 9 || fail "cannot lock $OUT/.lock"

LOG="$OUT/build.log"
: >"$LOG"

GEN="$OUT/gen/src/lpgen/lpnet"
rm -rf "$OUT/gen.tmp" && mkdir -p "$OUT/gen.tmp" || fail "cannot write $OUT"
# protoc-gen-go wants an import path with a slash: lp_rpc.proto -> lpgen/lpnet (package lpnet).
if ! (cd "$PROTO_DIR" && protoc -I. \
      --go_out="$OUT/gen.tmp" --go_opt=paths=source_relative --go_opt=Mlp_rpc.proto=lpgen/lpnet \
      --go-grpc_out="$OUT/gen.tmp" --go-grpc_opt=paths=source_relative \
      --go-grpc_opt=Mlp_rpc.proto=lpgen/lpnet lp_rpc.proto) >>"$LOG" 2>&1; then
  fail "protoc failed on $PROTO_DIR/lp_rpc.proto (see $LOG): $(tail -n1 "$LOG")"
fi
rm -rf "$GEN" && mkdir -p "$(dirname "$GEN")" && mv "$OUT/gen.tmp" "$GEN" || fail "cannot move the generated code to $GEN"

mkdir -p "$OUT/gopath/src" || fail "cannot create $OUT/gopath/src"
ln -sfn "$HERE" "$OUT/gopath/src/lpjudge" || fail "cannot link $OUT/gopath/src/lpjudge"

if ! (cd "$OUT/gopath/src/lpjudge" && \
      env GO111MODULE=off GOPATH="$OUT/gopath:$OUT/gen:/usr/share/gocode" GOCACHE="$OUT/gocache" \
          GOFLAGS= GOPROXY=off CGO_ENABLED=0 go build -o "$OUT/lpjudge.tmp" lpjudge) >>"$LOG" 2>&1; then
  fail "go build failed (see $LOG): $(grep -m1 -v '^#' "$LOG")"
fi
mv -f "$OUT/lpjudge.tmp" "$OUT/lpjudge" || fail "cannot write $OUT/lpjudge"
echo "build.sh: built $OUT/lpjudge"
