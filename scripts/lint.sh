#!/usr/bin/env bash
# Lints every C++ file the project owns with the repository's configs and exits non-zero on any
# finding: clang-format (--dry-run --Werror) on every tracked *.cpp/*.h, and clang-tidy on the
# tracked .cpp files in the build's compile_commands.json (headers through HeaderFilterRegex).
# The generated lp_rpc.pb.* live in the build tree, are not tracked and are not linted.
# Usage: scripts/lint.sh [build-dir]   (default build/; it must have been built, since the
# sources include the generated protobuf headers). LP_LINT_JOBS sets clang-tidy's parallelism
# (default 2).
#
# clang-tidy over every file takes 15-45 minutes on 2 cores (GStreamer, gRPC and Boost headers in
# every translation unit), too long for each CI run. So a full run that is clean records what it
# checked in scripts/tidy-clean.txt (the blob id of every tracked file, as git ls-files -s gives
# them), and every other run checks what differs from that record: each translation unit whose
# source or any header it includes (ninja's deps) has another content now, committed or not.
# Every file the project owns is then clean: the ones unchanged since a clean full run, and the
# ones checked now. Blob ids, not a commit: a shallow clone can compare them too.
#   LP_TIDY=changed (default)  the translation units changed since the record (all of them
#                              when there is no record or .clang-tidy changed);
#   LP_TIDY=all                every translation unit; when clean and the tree has no
#                              uncommitted change, the record is rewritten (commit it);
#   LP_TIDY=0                  no clang-tidy.
# LP_TIDY_RECORD=1 with the default mode rewrites the record too when the changed units are clean
# on a committed tree: every unit is then clean (the others were at the record), and the next
# CI run checks only what changes after it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
jobs=${LP_LINT_JOBS:-2}
status=0

for tool in clang-format clang-tidy run-clang-tidy; do
  command -v "$tool" >/dev/null || { echo "lint: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json (build first)" >&2; exit 1; }

mapfile -d '' formatted < <(git ls-files -z -- '*.cpp' '*.h')
start=$SECONDS
if clang-format --dry-run --Werror "${formatted[@]}"; then
  echo "lint: clang-format: ${#formatted[@]} files clean ($((SECONDS - start)) s)"
else
  echo "lint: clang-format: findings above (fix with clang-format -i FILE)"
  status=1
fi

mode=${LP_TIDY:-changed}
case "$mode" in
  0) echo "lint: clang-tidy not run (LP_TIDY=0)"; exit $status ;;
  1) mode=all ;;  # the old spelling
  all | changed) ;;
  *) echo "lint: LP_TIDY=$mode: expected changed, all or 0" >&2; exit 2 ;;
esac
record=scripts/tidy-clean.txt
changed=$(mktemp)
trap 'rm -f "$changed"' EXIT
if [ "$mode" = changed ] && [ ! -s "$record" ]; then
  echo "lint: clang-tidy: no record of a clean full run ($record): checking every file"
  mode=all
fi
if [ "$mode" = changed ]; then
  # The tracked files whose blob differs from the record, plus uncommitted and untracked ones.
  python3 - "$record" >"$changed" <<'PY'
import subprocess, sys
def git(*args):
    out = subprocess.run(["git", *args], capture_output=True, check=True).stdout.decode()
    return [p for p in out.split("\0") if p]
recorded = {}
for line in open(sys.argv[1]):
    if line.strip() and not line.startswith("#"):
        blob, path = line.rstrip("\n").split(" ", 1)
        recorded[path] = blob
current = {}
for entry in git("ls-files", "-s", "-z"):
    meta, path = entry.split("\t", 1)
    current[path] = meta.split()[1]
changed = {p for p, blob in current.items() if recorded.get(p) != blob}
changed |= {p for p in recorded if p not in current}
changed |= set(git("diff", "--name-only", "-z"))
changed |= set(git("ls-files", "--others", "--exclude-standard", "-z"))
print("\n".join(sorted(changed)))
PY
  if grep -qx '.clang-tidy' "$changed"; then
    echo "lint: clang-tidy: .clang-tidy changed since the recorded clean run: checking every file"
    mode=all
  fi
fi
base=$(sed -n '1s/^# clang-tidy clean at \([0-9a-f]*\).*/\1/p' "$record" 2>/dev/null || true)

# The tracked .cpp files the build compiles (in changed mode: those whose source or headers
# changed since the record), as anchored path patterns for run-clang-tidy.
mapfile -t patterns < <(git ls-files -- '*.cpp' | python3 -c '
import json, os, re, subprocess, sys
root, build, mode, changed_list = sys.argv[1:5]
build = os.path.abspath(build)
db = json.load(open(os.path.join(build, "compile_commands.json")))
compiled = {}
for e in db:
    compiled[os.path.normpath(os.path.join(e["directory"], e["file"]))] = e.get("output")
selected = None
if mode == "changed":
    changed = {os.path.normpath(os.path.join(root, l.strip())) for l in open(changed_list) if l.strip()}
    deps, obj = {}, None
    out = subprocess.run(["ninja", "-C", build, "-t", "deps"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if line and not line[0].isspace():
            obj = line.split(":")[0]
            deps[obj] = set()
        elif line.strip() and obj is not None:
            deps[obj].add(os.path.normpath(os.path.join(build, line.strip())))
    selected = set()
    for src, output in compiled.items():
        files = deps.get(output)
        # A unit without recorded deps (never built) is checked: nothing says it is unchanged.
        if files is None or src in changed or files & changed:
            selected.add(src)
for line in sys.stdin:
    path = os.path.join(root, line.strip())
    if path in compiled and (selected is None or path in selected):
        print("^" + re.escape(path) + "$")
' "$root" "$build" "$mode" "$changed")
if [ "$mode" = changed ] && ((${#patterns[@]} == 0)); then
  echo "lint: clang-tidy: no translation unit changed since the clean run at ${base:-the record}"
  exit $status
fi
((${#patterns[@]})) || { echo "lint: no tracked source in $build/compile_commands.json" >&2; exit 1; }
[ "$mode" = all ] || echo "lint: clang-tidy: ${#patterns[@]} translation units changed since the clean run at ${base:-the record}"

# The generated protobuf headers' include directory makes meson pass the source root as -isystem
# too, which would hide every project header ("elements/...", "payment/...") from clang-tidy as a
# system header: the prefixes below make them user headers again, all but the generated ones.
# (The last prefix that matches decides, so the generated headers' one comes last.)
header_args=()
for dir in payment node elements plugins tests; do
  header_args+=("-extra-arg=--no-system-header-prefix=$dir/")
done
header_args+=(-extra-arg=--system-header-prefix=elements/net/lp_rpc.)

# run-clang-tidy colours its output and cannot pass --warnings-as-errors, so every diagnostic
# line counts as a finding here; a clang-tidy that fails (a compile error) fails the run too.
out=$(mktemp)
trap 'rm -f "$out" "$changed"' EXIT
start=$SECONDS
tidy_rc=0
run-clang-tidy -p "$build" -j "$jobs" -quiet "${header_args[@]}" "${patterns[@]}" >"$out" 2>&1 || tidy_rc=$?
sed -i 's/\x1b\[[0-9;]*m//g' "$out"
grep -vE '^(clang-tidy(-[0-9]+)? |[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$)' "$out" || true
findings=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: (warning|error): ' "$out" || true)
elapsed=$((SECONDS - start))
if [ "$tidy_rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
  echo "lint: clang-tidy: $findings findings in ${#patterns[@]} files (exit $tidy_rc, $elapsed s)"
  status=1
else
  echo "lint: clang-tidy: ${#patterns[@]} files clean ($elapsed s)"
  if { [ "$mode" = all ] || [ "${LP_TIDY_RECORD:-0}" = 1 ]; } &&
    [ -z "$(git status --porcelain --untracked-files=no)" ]; then
    {
      echo "# clang-tidy clean at $(git rev-parse HEAD) on every translation unit of $build" \
        "($(date -u +%F)); written by LP_TIDY=$mode scripts/lint.sh: blob path"
      git ls-files -s | sed 's/^[0-7]* \([0-9a-f]*\) [0-3]\t/\1 /'
    } >"$record"
    echo "lint: clang-tidy: recorded the checked files in $record (commit it)"
  fi
fi
exit $status
