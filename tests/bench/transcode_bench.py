#!/usr/bin/env python3
"""Transcoding benchmarks, each a ratio against a baseline measured in the same run.

1. Throughput: `lpnode transcode` on the gop2 clip looped to 66.7 s with the Livepeer reference
   ladder, against a plain gst-launch-1.0 pipeline with the same elements and settings (decode
   once, tee, four videoscale + x264enc branches, each muxed with the copied audio). The runs
   alternate; the medians of the wall times give the ratio (target: lpnode at least 0.95 of
   gst-launch's throughput).
2. The cost of a segment in the warm pipeline against a pipeline built per segment
   (transcode_engine_bench).

Usage: transcode_bench.py BUILD_DIR SOURCE_DIR [RUNS]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD, SRC = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PRESET = "veryfast"
LADDER = os.path.join(SRC, "pipelines/ladders/livepeer-reference.json")
CLIP = os.path.join(SRC, "tests/data/media/live-1080p30-h264-aac-16s-gop2.ts")
LPNODE = os.path.join(BUILD, "node/lpnode")


def gst_launch_args(inp, out):
    """The baseline: the same decoder, scaler, encoder settings and muxer, in one gst-launch line."""
    with open(LADDER) as f:
        rungs = json.load(f)
    args = ["filesrc", f"location={inp}", "!", "tsdemux", "name=d",
            "d.", "!", "queue", "!", "h264parse", "!", "avdec_h264", "!", "tee", "name=v",
            "d.", "!", "queue", "!", "aacparse", "!", "tee", "name=a"]
    for r in rungs:
        n = r["name"]
        keyint = 30  # gop "1" at the clip's 30 fps, as lptranscode sets it
        args += ["v.", "!", "queue", "max-size-buffers=0", "max-size-bytes=0", "max-size-time=0", "!",
                 "videoscale", "!", "videoconvert", "!",
                 f"video/x-raw,width={r['width']},height={r['height']},pixel-aspect-ratio=1/1", "!",
                 "x264enc", f"speed-preset={PRESET}", "tune=zerolatency", f"bitrate={r['bitrate'] // 1000}",
                 "bframes=0", f"key-int-max={keyint}", "!",
                 "video/x-h264,stream-format=byte-stream,alignment=au,profile=high", "!",
                 "mpegtsmux", f"name=m{n}", "!", "filesink", f"location={out}/{n}.ts",
                 "a.", "!", "queue", "!", f"m{n}."]
    return ["gst-launch-1.0", "-q", *args]


def timed(cmd, env=None):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {p.stderr[-800:]}")
    return time.monotonic() - t0


def main():
    tmp = tempfile.mkdtemp(prefix="lpbench-")
    try:
        looped = os.path.join(tmp, "looped.ts")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "3", "-i", CLIP, "-c", "copy", "-f", "mpegts",
                        looped], check=True)
        duration = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                                         "csv=p=0", looped], capture_output=True, text=True).stdout.strip())
        ours, base = [], []
        for i in range(RUNS):
            out = os.path.join(tmp, f"lpnode{i}")
            ours.append(timed([LPNODE, "transcode", "--input", looped, "--out", out, "--profiles", LADDER,
                               "--gpu", "off", "--speed-preset", PRESET]))
            shutil.rmtree(out)
            out = os.path.join(tmp, f"gst{i}")
            os.makedirs(out)
            base.append(timed(gst_launch_args(looped, out)))
            shutil.rmtree(out)
            print(f"run {i + 1}/{RUNS}: lpnode transcode {ours[-1]:.2f} s, gst-launch {base[-1]:.2f} s", flush=True)
        o, b = statistics.median(ours), statistics.median(base)
        ratio = b / o
        print(f"\nthroughput on {duration:.1f} s of 1080p30 with the reference ladder (x264 {PRESET}, {os.cpu_count()} CPUs):")
        print(f"  lpnode transcode  median {o:.2f} s  ({duration / o:.2f}x real time)")
        print(f"  gst-launch-1.0    median {b:.2f} s  ({duration / b:.2f}x real time)")
        print(f"  throughput ratio lpnode / gst-launch = {ratio:.3f} (target >= 0.95)")

        # The build cost shows more where encoding is cheap: also the default 2-rung ladder at ultrafast.
        default = os.path.join(SRC, "pipelines/ladders/go-livepeer-default.json")
        for ladder, preset, label in ((LADDER, PRESET, "reference ladder, x264 " + PRESET),
                                      (default, "ultrafast", "go-livepeer default ladder, x264 ultrafast")):
            engine = subprocess.run([os.path.join(BUILD, "tests/bench/transcode_engine_bench"), CLIP, ladder, preset,
                                     "2"], capture_output=True, text=True)
            if engine.returncode != 0:
                sys.exit(f"transcode_engine_bench failed: {engine.stderr[-800:]}")
            e = json.loads(engine.stdout)
            print(f"\none 2 s segment, {label}, median of {e['segments']} segments x {e['rounds']} rounds:")
            print(f"  warm pipeline (built once per stream) {e['warm_ms']:.1f} ms")
            print(f"  pipeline built per segment            {e['per_segment_pipeline_ms']:.1f} ms")
            print(f"  per-segment pipeline / warm = {e['ratio']:.3f}")
        return 0 if ratio >= 0.95 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
