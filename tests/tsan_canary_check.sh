#!/usr/bin/env bash
# Runs tests/tsan_canary.cpp's program with TSan's reports in a folder of its own and passes only
# when TSan reported the canary's deliberate race (a data race naming canary_probe_write) and the
# program itself ran to its end. Usage: tsan_canary_check.sh PROGRAM
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/lp-tsan-canary.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# TSAN_OPTIONS comes from the test setup (suppressions, ignore_noninstrumented_modules); the
# wrapper's log_path is overridden so that this expected report does not fail the wrapper too.
TSAN_OPTIONS="${TSAN_OPTIONS:-}:log_path=$dir/report:exitcode=0" "$1"
rc=$?
[ "$rc" -eq 0 ] || { echo "tsan-canary: the program failed (exit $rc)" >&2; exit 1; }
shopt -s nullglob
reports=("$dir"/report*)
if [ ${#reports[@]} -gt 0 ] && grep -q 'WARNING: ThreadSanitizer: data race' "${reports[@]}" &&
  grep -q 'canary_probe_write' "${reports[@]}"; then
  echo "tsan-canary: the deliberate race was reported"
  exit 0
fi
[ ${#reports[@]} -eq 0 ] || cat "${reports[@]}" >&2
echo "tsan-canary: ThreadSanitizer did not report the deliberate race in canary_probe_write:" \
  "the TSan pass would miss races in code that GStreamer calls" >&2
exit 1
