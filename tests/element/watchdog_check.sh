#!/usr/bin/env bash
# The element tests' watchdog (tests/element/main.cpp) must end a stuck test: its report, every
# thread's stack when gdb is installed, and an abort. Usage: watchdog_check.sh WATCHDOG_SELFTEST
set -u
out=$(LP_TEST_WATCHDOG_S=2 timeout 300 "$1" 2>&1)
rc=$?
fail() {
  echo "watchdog check: $1 (exit $rc)"
  echo "$out" | tail -40
  exit 1
}
((rc != 0 && rc != 124)) || fail "the stuck test was not aborted"
grep -q "watchdog: Watchdog.StuckTest has run for more than 2 s" <<<"$out" || fail "no report"
if command -v gdb >/dev/null 2>&1; then
  grep -q "Watchdog_StuckTest_Test::TestBody" <<<"$out" || fail "no stack naming the stuck test"
fi
echo "watchdog check: reported and aborted"
