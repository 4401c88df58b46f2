#!/usr/bin/env bash
# The ThreadSanitizer pass's test wrapper (tests/meson.build's 'tsan' test setup): runs one test
# with TSan writing its reports to files instead of stderr, so that a race reported by any process
# the test starts (an lpnode whose stderr a Python test discards, one it SIGKILLs, one whose exit
# code it does not look at) fails the test, and stderr stays what the test asserts on.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/lp-tsan.XXXXXX")
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$dir/report"
rc=0
"$@" || rc=$?
shopt -s nullglob
reports=("$dir"/report*)
if [ ${#reports[@]} -gt 0 ]; then
  cat "${reports[@]}" >&2
  echo "tsan_check: ThreadSanitizer reported in ${#reports[@]} process(es) (test exit $rc)" >&2
  [ "$rc" -ne 0 ] || rc=66
fi
rm -rf "$dir"
exit "$rc"
