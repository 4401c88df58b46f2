#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotently), builds, and runs the whole test suite:
# unit, integration (real processes, real SQLite, ethers.js), then the unit and integration
# tests again under AddressSanitizer and UBSan. Ends with "N passed, N failed".
# LP_SANITIZE=0 skips the sanitizer pass (a faster local loop).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh

run_suite() {  # build-dir [meson options...]
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir"
  local rc=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
  python3 - "$dir/meson-logs/testlog.json" <<'PY' >>"$summary"
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print(t["result"])
PY
  return $rc
}

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0
run_suite build -Dbuildtype=debugoptimized || status=1
if [ "${LP_SANITIZE:-1}" != 0 ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-sanitize -Dbuildtype=debug -Dsanitizers=address,undefined -Dbenchmarks=false || status=1
fi
passed=$(grep -cx 'OK' "$summary" || true)
failed=$(grep -cvx 'OK' "$summary" || true)
echo "$passed passed, $failed failed"
exit $status
