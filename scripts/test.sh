#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotently), builds, and runs the whole test suite in three
# passes, each in its own build directory:
#   build/           the unit, element, integration and fuzz-replay tests (debugoptimized);
#   build-sanitize/  all of them again under AddressSanitizer + UBSan (debug);
#   build-tsan/      the unit, element and integration tests under ThreadSanitizer
#                    (debugoptimized: TSan is slow). The fuzz replays are skipped there (they
#                    start no thread; the ASan pass runs them). tests/tsan_check.sh fails a test
#                    when any process it started reported a race; tests/tsan.supp holds the
#                    third-party suppressions.
# Ends with the failed tests by name, then "N passed, N failed" (one count per meson test per
# pass).
# The clang-format and clang-tidy check (scripts/lint.sh) runs after the first build and counts
# as one line. LP_SANITIZE=0 skips both sanitizer passes, LP_TSAN=0 only the ThreadSanitizer one,
# LP_LINT=0 the lint (a faster local loop). LP_SOAK=1 adds the 30-minute soak after the first pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh

run_suite() {  # build-dir [meson options...]; meson test options in $test_options
  local dir=$1; shift
  local started=$SECONDS
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir"
  local rc=0
  # shellcheck disable=SC2086  # test_options is a word list
  meson test -C "$dir" --print-errorlogs --num-processes 2 ${test_options:-} || rc=$?
  python3 - "$dir/meson-logs/testlog.json" "$dir" <<'PY' >>"$summary"
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print(t["result"] + " " + sys.argv[2] + ": " + t["name"])
PY
  echo "$dir: $((SECONDS - started)) s (build and tests)"
  return $rc
}

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0
run_suite build -Dbuildtype=debugoptimized || status=1
# clang-format on every file the project owns, clang-tidy on what changed since its last clean
# full run (scripts/lint.sh; uses build/): one line in the count.
if [ "${LP_LINT:-1}" != 0 ]; then
  if bash scripts/lint.sh build; then
    echo "OK lint" >>"$summary"
  else
    echo "FAIL lint" >>"$summary"
    status=1
  fi
fi
# The 30-minute soak (tests/soak/soak_test.py; LP_SOAK_MINUTES to change), only when asked.
if [ "${LP_SOAK:-0}" = 1 ]; then
  if python3 tests/soak/soak_test.py build/node/lpnode tests/data/media/live-1080p30-h264-aac-16s-gop2.ts; then
    echo "OK soak" >>"$summary"
  else
    echo "FAIL soak" >>"$summary"
    status=1
  fi
fi
if [ "${LP_SANITIZE:-1}" != 0 ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-sanitize -Dbuildtype=debug -Dsanitizers=address,undefined -Dbenchmarks=false || status=1
  if [ "${LP_TSAN:-1}" != 0 ]; then
    # The test setup 'tsan' (the default in this build directory) adds the wrapper, TSAN_OPTIONS
    # and the fuzz exclusion; TSan runs code 5-15 times slower, hence the longer timeouts.
    test_options="--timeout-multiplier 3" \
      run_suite build-tsan -Dbuildtype=debugoptimized -Dsanitizers=thread -Dbenchmarks=false || status=1
  fi
fi
passed=$(grep -c '^OK ' "$summary" || true)
failed=$(grep -vc '^OK ' "$summary" || true)
# The failures by name last, so that the tail of a long log says what failed.
grep -v '^OK ' "$summary" || true
echo "$passed passed, $failed failed"
exit $status
