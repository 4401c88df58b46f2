#!/usr/bin/env python3
"""`lpnode transcode` on the real clips, judged by ffprobe and ffmpeg (independent decoders).

Usage: transcode_cli_test.py LPNODE TESTS_DATA_DIR SOURCE_DIR PLUGIN_DIR
Prints one line per failed check and "N checks, M failed"; exits non-zero on any failure.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

LPNODE, DATA, SOURCE, PLUGINS = (os.path.abspath(a) for a in sys.argv[1:5])
MEDIA = os.path.join(DATA, "media")
REFERENCE = os.path.join(SOURCE, "pipelines", "ladders", "livepeer-reference.json")


def transcode(inp, out, *flags, timeout=600):
    """Runs lpnode transcode; returns (exit code, stdout, stderr)."""
    cmd = [LPNODE, "transcode", "--input", inp, "--out", out, "--speed-preset", "ultrafast", *flags]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def ffprobe_json(path, *args):
    p = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, path], capture_output=True, text=True)
    return json.loads(p.stdout or "{}")


def video_packets(path):
    return ffprobe_json(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags,duration_time",
                        "-show_packets").get("packets", [])


def streams(path):
    return ffprobe_json(path, "-show_entries", "stream=codec_type,codec_name,width,height", "-show_streams").get(
        "streams", [])


def decode_errors(data):
    p = subprocess.run(["ffmpeg", "-v", "error", "-f", "mpegts", "-i", "-", "-f", "null", "-"], input=data,
                       capture_output=True)
    return p.returncode, p.stderr.decode(errors="replace").strip()


def ladder_sizes(src_w, src_h):
    with open(REFERENCE) as f:
        rungs = json.load(f)
    sizes = {}
    for r in rungs:
        longer = max(r["width"], r["height"])
        if src_w >= src_h:
            sizes[r["name"]] = (longer, round(longer * src_h / src_w / 2) * 2)
        else:
            sizes[r["name"]] = (round(longer * src_w / src_h / 2) * 2, longer)
    return sizes


def judge_run(name, clip, out, summary, src_w, src_h, with_audio=True):
    """Every rendition of every segment against its source segment."""
    sizes = ladder_sizes(src_w, src_h)
    input_frames = len(video_packets(os.path.join(MEDIA, clip)))
    segs = summary["segments"]
    check(sum(s["frames"] for s in segs) == input_frames,
          f"{name}: segments hold {sum(s['frames'] for s in segs)} frames, the input {input_frames}")
    check([s["seq"] for s in segs] == list(range(len(segs))), f"{name}: seqs {[s['seq'] for s in segs]}")
    for profile, (w, h) in sizes.items():
        concatenated = b""
        for s in segs:
            where = f"{name} {profile}/{s['seq']}.ts"
            path = os.path.join(out, profile, f"{s['seq']}.ts")
            if not check(os.path.exists(path), f"{where}: missing"):
                continue
            with open(path, "rb") as f:
                concatenated += f.read()
            st = streams(path)
            video = [x for x in st if x["codec_type"] == "video"]
            check(len(video) == 1 and video[0]["codec_name"] == "h264", f"{where}: video {video}")
            if video:
                check((video[0]["width"], video[0]["height"]) == (w, h),
                      f"{where}: {video[0]['width']}x{video[0]['height']}, wanted {w}x{h}")
            if with_audio:
                check(any(x["codec_type"] == "audio" and x["codec_name"] == "aac" for x in st), f"{where}: no AAC")
            pk = video_packets(path)
            check(len(pk) == s["frames"], f"{where}: {len(pk)} frames, the source segment {s['frames']}")
            check(bool(pk) and "K" in pk[0]["flags"], f"{where}: does not start with a keyframe")
            first = ffprobe_json(path, "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_entries",
                                 "frame=pict_type,key_frame", "-show_frames").get("frames", [{}])
            check(first and first[0].get("pict_type") == "I" and first[0].get("key_frame") == 1,
                  f"{where}: first frame {first}")
            if len(pk) >= 2:
                times = sorted(float(p["pts_time"]) for p in pk)
                frame = (times[-1] - times[0]) / (len(times) - 1)
                duration = times[-1] - times[0] + frame
                check(abs(duration - s["duration"]) <= frame + 1e-3,
                      f"{where}: lasts {duration:.3f} s, the source segment {s['duration']:.3f} s")
            rendition = next(r for r in s["renditions"] if r["profile"] == profile)
            check(rendition["pixels"] == rendition["frames"] * w * h, f"{where}: pixels {rendition['pixels']}")
        rc, errors = decode_errors(concatenated)
        check(rc == 0 and errors == "", f"{name} {profile}: the concatenated renditions do not decode cleanly: "
                                        f"{errors[:300]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # The gop2 clip with the reference ladder: the acceptance run.
        out = os.path.join(tmp, "gop2")
        rc, stdout, stderr = transcode(os.path.join(MEDIA, "live-1080p30-h264-aac-16s-gop2.ts"), out,
                                       "--profiles", REFERENCE)
        if check(rc == 0, f"gop2: exit {rc}: {stderr[-500:]}"):
            summary = json.loads(stdout)
            with open(os.path.join(out, "summary.json")) as f:
                check(json.load(f) == summary, "gop2: summary.json differs from stdout")
            check(len(summary["segments"]) in (8, 9), f"gop2: {len(summary['segments'])} segments")
            check(stderr.count("real time") >= len(summary["segments"]), "gop2: a progress line per segment")
            check(summary["decoder"] == "avdec_h264" and summary["encoder"] == "x264enc",
                  f"gop2: {summary['decoder']} / {summary['encoder']} on a machine without NVIDIA")
            judge_run("gop2", "live-1080p30-h264-aac-16s-gop2.ts", out, summary, 1920, 1080)

        # Portrait: the aspect ratio is kept by fitting the larger requested dimension.
        out = os.path.join(tmp, "portrait")
        rc, stdout, stderr = transcode(os.path.join(MEDIA, "portrait-720x1280-h264-1s.ts"), out,
                                       "--profiles", REFERENCE)
        if check(rc == 0, f"portrait: exit {rc}: {stderr[-500:]}"):
            summary = json.loads(stdout)
            sizes = {r["profile"]: (r["width"], r["height"]) for r in summary["segments"][0]["renditions"]}
            check(sizes == {"240p0": (240, 426), "360p0": (360, 640), "480p0": (480, 854), "720p0": (720, 1280)},
                  f"portrait: sizes {sizes}")
            judge_run("portrait", "portrait-720x1280-h264-1s.ts", out, summary, 720, 1280, with_audio=False)

        # A long GOP (keyframes at 0.1 s and 8.4 s): two long segments, a warning, no frame lost.
        out = os.path.join(tmp, "longgop")
        rc, stdout, stderr = transcode(os.path.join(MEDIA, "live-1080p30-h264-aac-16s.ts"), out,
                                       "--profiles", "P240p30fps16x9")
        if check(rc == 0, f"long GOP: exit {rc}: {stderr[-500:]}"):
            summary = json.loads(stdout)
            check(len(summary["segments"]) == 2, f"long GOP: {len(summary['segments'])} segments")
            check("warning: Long GOP" in stderr, f"long GOP: no warning in {stderr[:300]}")
            frames = len(video_packets(os.path.join(MEDIA, "live-1080p30-h264-aac-16s.ts")))
            got = sum(r["frames"] for s in summary["segments"] for r in s["renditions"])
            check(got == frames, f"long GOP: renditions hold {got} frames, the input {frames}")

        # Ctrl-C: the run stops cleanly, everything written is in the summary. The segment in
        # progress is finished when that takes at most 2 s (exit 0), else the run stops at once
        # (exit 1, summary.json still written); a loaded machine may see either.
        out = os.path.join(tmp, "interrupted")
        proc = subprocess.Popen([LPNODE, "transcode", "--input", os.path.join(MEDIA, "live-1080p30-h264-aac-16s-gop2.ts"),
                                 "--out", out, "--speed-preset", "ultrafast"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        first = proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        stdout, rest = proc.communicate(timeout=300)
        stderr = first + rest
        forced = proc.returncode == 1 and "did not finish within 2 s" in stderr
        if check(proc.returncode == 0 or forced, f"SIGINT: exit {proc.returncode}: {stderr[-300:]}"):
            check("stopping" in stderr, f"SIGINT: no stopping message in {stderr[-300:]}")
            with open(os.path.join(out, "summary.json")) as f:
                summary = json.load(f)
            if not forced:
                check(json.loads(stdout) == summary, "SIGINT: summary.json differs from stdout")
            seqs = [s["seq"] for s in summary["segments"]]
            check(seqs == list(range(len(seqs))) and seqs, f"SIGINT: segments {seqs}")
            for s in summary["segments"]:
                for r in s["renditions"]:
                    check(os.path.getsize(os.path.join(out, r["file"])) == r["bytes"], f"SIGINT: {r['file']}")

        # Bad input: a clear error and exit 1, never a crash or a hang.
        gop2 = os.path.join(MEDIA, "live-1080p30-h264-aac-16s-gop2.ts")
        truncated = os.path.join(tmp, "truncated.ts")
        with open(gop2, "rb") as f, open(truncated, "wb") as g:
            g.write(f.read(188 * 1500 + 100))
        garbage = os.path.join(tmp, "random.ts")
        with open(garbage, "wb") as g:
            g.write(os.urandom(200000))
        mpeg2 = os.path.join(tmp, "mpeg2.ts")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "2",
                        "-c:v", "mpeg2video", mpeg2], check=True)
        empty = os.path.join(tmp, "empty.ts")
        open(empty, "wb").close()
        for inp, message in ((truncated, "truncated"), (garbage, "Could not determine type of stream"),
                             (mpeg2, "takes H.264 video"), (empty, "no data")):
            rc, _, stderr = transcode(inp, os.path.join(tmp, "bad"), timeout=120)
            check(rc == 1, f"{os.path.basename(inp)}: exit {rc}, wanted 1: {stderr[-300:]}")
            check(message in stderr, f"{os.path.basename(inp)}: '{message}' not in {stderr[-300:]}")
            check("Segmentation" not in stderr and "Aborted" not in stderr, f"{os.path.basename(inp)}: crashed")

        # The orchestrator pipeline profiles, run as their comments say.
        work = os.path.join(tmp, "profiles")
        os.makedirs(os.path.join(work, "segments"))
        env = dict(os.environ, GST_PLUGIN_PATH=PLUGINS)
        if os.environ.get("LP_GST_PRELOAD"):  # a sanitizer build: gst-launch loads an instrumented plugin
            env["LD_PRELOAD"] = os.environ["LP_GST_PRELOAD"]
        seg = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={gop2}", "!", "tsdemux", "name=d", "d.", "!",
                              "queue", "!", "h264parse", "!", "seg.video", "d.", "!", "queue", "!", "aacparse", "!",
                              "seg.audio", "lpsegmenter", "name=seg", "!", "multifilesink",
                              "location=segments/%d.ts"], cwd=work, env=env, capture_output=True, text=True)
        check(seg.returncode == 0, f"segmenting for the profiles: {seg.stderr[-300:]}")
        os.symlink(os.path.join(SOURCE, "pipelines"), os.path.join(work, "pipelines"))
        for rung in ("240p0", "360p0", "480p0", "720p0"):
            os.makedirs(os.path.join(work, "out", rung))
        for name in ("orchestrator-cpu.gst", "orchestrator-nvcodec.gst"):
            with open(os.path.join(SOURCE, "pipelines", name)) as f:
                words = " ".join(line.split("#")[0] for line in f).split()
            p = subprocess.run(["gst-launch-1.0", "-q", *words], cwd=work, env=env, capture_output=True, text=True,
                               timeout=600)
            have_nvdec = subprocess.run(["gst-inspect-1.0", "nvh264dec"], capture_output=True).returncode == 0
            if name == "orchestrator-cpu.gst" or have_nvdec:
                check(p.returncode == 0, f"{name}: {p.stderr[-300:]}")
                segments = len(os.listdir(os.path.join(work, "segments")))
                for rung in ("240p0", "720p0"):
                    got = len(os.listdir(os.path.join(work, "out", rung)))
                    check(got == segments, f"{name}: {got} {rung} renditions for {segments} segments")
            else:
                check(p.returncode != 0 and "nvh264dec is not registered" in p.stdout + p.stderr,
                      f"{name} without NVIDIA: exit {p.returncode}: {(p.stdout + p.stderr)[-300:]}")

        # Flags.
        rc, stdout, _ = subprocess.run([LPNODE, "transcode", "--help"], capture_output=True, text=True).returncode, None, None
        check(rc == 0, "transcode --help")
        for flags, message in ((["--out", tmp], "--input and --out are required"),
                               (["--input", gop2, "--out", tmp, "--gpu", "maybe"], "--gpu must be auto, on or off"),
                               (["--input", gop2, "--out", tmp, "--profiles", "P999p"], "--profiles"),
                               (["--input", os.path.join(tmp, "nope.ts"), "--out", tmp], "no such file")):
            p = subprocess.run([LPNODE, "transcode", *flags], capture_output=True, text=True)
            check(p.returncode == 2 and message in p.stderr, f"flags {flags}: exit {p.returncode}, {p.stderr.strip()}")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
