#!/usr/bin/env bash
# Builds with optimizations and runs the benchmarks, each reported as a ratio to a baseline
# measured in the same run (docs/benchmarks.md has the figures):
#   bash scripts/bench.sh payment [benchmark flags]   ticket operations vs raw libsecp256k1
#   bash scripts/bench.sh transcode [RUNS]            lpnode transcode vs gst-launch-1.0, and
#                                                     the warm pipeline vs one per segment
#   bash scripts/bench.sh orchestrator [ROUNDS]       a segment's round trip to an orchestrator on
#                                                     loopback vs the same transcode done locally
#   bash scripts/bench.sh gateway [ROUNDS]            the whole gateway loop vs the local transcode
#                                                     of the same ladder, and the per-segment delay
#   bash scripts/bench.sh                             all of them
# Exits non-zero when a ratio misses its target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-all}
[ $# -gt 0 ] && shift
bash scripts/setup.sh
[ -f build-release/build.ninja ] || meson setup build-release -Dbuildtype=release -Dtests=true >/dev/null
ninja -C build-release >/dev/null
status=0
if [ "$what" = orchestrator ] || [ "$what" = all ]; then
  out=$(build-release/tests/bench/orchestrator_bench tests/data/media/live-1080p30-h264-aac-16s-gop2.ts \
          pipelines/ladders/livepeer-reference.json veryfast "${1:-3}")
  python3 - "$out" <<'PY' || status=1
import json, sys
r = json.loads(sys.argv[1])
print(f"one 2 s segment of 1080p30, reference ladder, x264 veryfast, median of {r['segments']} segments:")
print(f"  transcoded locally                          {r['local_ms']:.1f} ms")
print(f"  paid, submitted over HTTPS, 4 downloads     {r['remote_ms']:.1f} ms")
print(f"  round trip - local transcode               {r['overhead_ms']:.1f} ms = {r['overhead_pct']:.2f}% (two separate x264 runs)")
print(f"  the orchestrator's own transcode            {r['server_transcode_ms']:.1f} ms")
print(f"  protocol and payment overhead = round trip - its own transcode = "
      f"{r['direct_overhead_ms']:.1f} ms = {r['direct_overhead_pct']:.2f}% (targets: < 5% and < 20 ms)")
print(f"  the same on a separate HTTP/1.1-only HTTPS port (the layout before the one port): "
      f"{r['two_ports_direct_overhead_ms']:.1f} ms")
print(f"  one port / two ports = {r['one_port_ratio']:.3f} (target: <= 1.1)")
sys.exit(0 if r['direct_overhead_pct'] < 5 and r['direct_overhead_ms'] < 20 and r['one_port_ratio'] <= 1.1 else 1)
PY
  [ "$what" = orchestrator ] && exit $status
fi
if [ "$what" = gateway ] || [ "$what" = all ]; then
  out=$(build-release/tests/bench/gateway_bench tests/data/media/live-1080p30-h264-aac-16s-gop2.ts \
          P240p30fps16x9,P360p30fps16x9 "${1:-3}")
  python3 - "$out" <<'PY' || status=1
import json, sys
r = json.loads(sys.argv[1])
print(f"the gop2 clip (16 s, 1080p30), ladder P240p30fps16x9,P360p30fps16x9, median of {r['rounds']} rounds:")
print(f"  lpsegmenter ! lptranscode (local)                          {r['local_s']:.2f} s")
print(f"  ... ! lpticketpay ! lpremote-transcode ! lpverify ! lphlssink {r['remote_s']:.2f} s")
print(f"  throughput ratio local/remote = {r['throughput_ratio']:.3f} (target >= 0.9)")
print(f"  per-segment delay at real time, segment complete -> HLS writer ({r['segments']} segments):")
print(f"    median {r['delay_median_ms']:.0f} ms, p95 {r['delay_p95_ms']:.0f} ms")
sys.exit(0 if r['throughput_ratio'] >= 0.9 else 1)
PY
  [ "$what" = gateway ] && exit $status
fi
if [ "$what" = transcode ] || [ "$what" = all ]; then
  python3 tests/bench/transcode_bench.py build-release "$root" "${1:-3}" || status=1
  [ "$what" = transcode ] && exit $status
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
build-release/tests/bench/payment_bench --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true --benchmark_min_time=0.2 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json "$@"
python3 - "$out" <<'PY' || status=1
import json, sys
rows = {b["run_name"]: b["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
        for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("aggregate_name") == "median"}
rec, sign = rows.get("BM_RawSecpRecover"), rows.get("BM_RawSecpSignRecoverable")
print("\nmedian CPU time per operation, and the ratio to raw libsecp256k1 in this run:")
for name, t in rows.items():
    base = sign if "Sign" in name else rec
    per = t / 10 if "Batch10" in name else t
    note = " (per ticket of 10)" if "Batch10" in name else ""
    print(f"  {name:28s} {t/1000:9.1f} us   {per/base:5.2f}x raw {'sign' if base is sign else 'recover'}{note}")
check = rows["BM_CheckTicket"] / rec
print(f"\ncheck one ticket / raw recover = {check:.2f} (target <= 1.25)")
sys.exit(0 if check <= 1.25 else 1)
PY
exit $status
