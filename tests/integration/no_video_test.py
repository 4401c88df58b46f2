#!/usr/bin/env python3
"""Inputs without video frames end with a clear error, and a signal always ends the process.

`lpnode transcode` and `lpnode gateway --input FILE` on MPEG-TS inputs made here: audio only
(AAC, 3 s and 30 s: the second goes past lpsegmenter's 10 s hold of audio without video), MP3
only (a stream with no place to go), and an A/V file whose H.264 PES packets were stripped out
(its PMT still declares the H.264 stream, which never carries a frame). Each must exit 1 within
10 s with one line naming the problem ("no video frames"). Then SIGTERM: `lpnode transcode` on
a named pipe that stops being written (the source blocks in read()) and on a slow run (the
reference ladder on 1080p), each ended within 5 s of the signal; and `lpnode gateway` listening
for an SRT caller that never comes, ended within 5 s of SIGTERM with exit 0.

Usage: no_video_test.py LPNODE CLIP
Prints one line per failed check and "N checks, M failed"; exits non-zero on any failure.
"""
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

LPNODE, CLIP = (os.path.abspath(a) for a in sys.argv[1:3])
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pipelines", "ladders",
                         "livepeer-reference.json")
NO_VIDEO = "no video frames"


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def strip_h264(src, dst):
    """Copies an MPEG-TS without the packets of its H.264 stream: PAT and PMT stay as they are."""
    data = open(src, "rb").read()
    pmt_pids, video = set(), set()
    out = bytearray()
    for off in range(0, len(data) - 187, 188):
        p = data[off:off + 188]
        pid = ((p[1] & 0x1F) << 8) | p[2]
        pos = 4 + (1 + p[4] if (p[3] >> 4) & 3 == 3 else 0)
        if p[1] & 0x40 and (pid == 0 or pid in pmt_pids):
            sec = p[pos + 1 + p[pos]:]
            end = 3 + (((sec[1] & 0x0F) << 8) | sec[2]) - 4  # before the CRC
            if pid == 0:
                for i in range(8, end, 4):
                    if (sec[i] << 8) | sec[i + 1]:  # program 0 is the network PID
                        pmt_pids.add(((sec[i + 2] & 0x1F) << 8) | sec[i + 3])
            else:
                i = 12 + (((sec[10] & 0x0F) << 8) | sec[11])
                while i < end:
                    if sec[i] == 0x1B:  # H.264
                        video.add(((sec[i + 1] & 0x1F) << 8) | sec[i + 2])
                    i += 5 + (((sec[i + 3] & 0x0F) << 8) | sec[i + 4])
        if pid not in video:
            out += p
    open(dst, "wb").write(out)
    return video


def one_error_line(name, rc, stderr, command):
    """Exit 1 and a last line "lpnode COMMAND: ..." naming the problem; no log dump."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    check(rc == 1, f"{name}: exit {rc}, wanted 1: {stderr[-400:]}")
    check(lines and lines[-1].startswith(f"lpnode {command}: ") and NO_VIDEO in lines[-1].lower(),
          f"{name}: the last line does not say '{NO_VIDEO}': {lines[-1:]}")
    check(all(l.startswith("lpnode ") for l in lines), f"{name}: lines not from lpnode: {stderr[-400:]}")
    check("CRITICAL" not in stderr and "Segmentation" not in stderr, f"{name}: crashed: {stderr[-400:]}")


def run_bounded(name, cmd, limit):
    """Runs cmd; (exit code, stderr), or (None, ...) when it is still running after limit seconds."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=limit)
        return p.returncode, err
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        check(False, f"{name}: still running after {limit} s: {err[-400:]}")
        return None, err


def ended_within(name, p, limit):
    """Waits for p after a signal; its (exit code, stdout, stderr), or a failed check and a kill."""
    try:
        out, err = p.communicate(timeout=limit)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, f"{name}: still running {limit} s after SIGTERM: {err[-400:]}")
        return None, out, err


def pipe_drained(fd, deadline):
    """Waits until the reader took everything written into the pipe."""
    while time.monotonic() < deadline:
        if struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0] == 0:
            return True
        time.sleep(0.05)
    return False


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac", "-f", "mpegts", "audio.ts")
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=30", "-c:a", "aac", "-f", "mpegts", "audio30.ts")
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "libmp3lame", "-f", "mpegts", "mp3.ts")
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440", "-t",
               "3", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f",
               "mpegts", "av.ts")
        check(strip_h264("av.ts", "stripped.ts"), "the A/V file has an H.264 stream in its PMT")
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                                "stream=codec_name,nb_read_packets", "-of", "csv=p=0", "stripped.ts"],
                               capture_output=True, text=True).stdout.split()
        check(probe[0].startswith("h264,") and probe[0].split(",")[1] in ("", "0", "N/A"),
              f"the stripped file declares H.264 without packets: {probe}")

        inputs = ("audio.ts", "audio30.ts", "mp3.ts", "stripped.ts")
        for name in inputs:
            rc, err = run_bounded(f"transcode {name}", [LPNODE, "transcode", "--input", name, "--out", f"out-{name}",
                                                        "--speed-preset", "ultrafast"], 10)
            if rc is not None:
                one_error_line(f"transcode {name}", rc, err, "transcode")
        # The same file with its video is fine: what fails above is the missing video.
        rc, err = run_bounded("transcode av.ts", [LPNODE, "transcode", "--input", "av.ts", "--out", "out-av",
                                                  "--speed-preset", "ultrafast"], 120)
        check(rc == 0, f"transcode av.ts: exit {rc}: {err[-400:]}")

        # SIGTERM while the source is blocked in read(): a pipe that stops being written.
        os.mkfifo("pipe.ts")
        w = os.open("pipe.ts", os.O_RDWR)  # a writer that never closes; does not block
        p = subprocess.Popen([LPNODE, "transcode", "--input", "pipe.ts", "--out", "out-pipe", "--speed-preset",
                              "ultrafast"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        head = open(CLIP, "rb").read()[:188 * 1000]
        drained = True
        for i in range(0, len(head), 32768):
            os.write(w, head[i:i + 32768])
            drained = drained and pipe_drained(w, time.monotonic() + 60)
        check(drained, "transcode pipe: lpnode did not read the pipe")
        p.send_signal(signal.SIGTERM)
        rc, _, err = ended_within("transcode pipe", p, 5)
        os.close(w)
        if rc is not None:
            check(rc == 1 and "stopped" in err, f"transcode pipe: exit {rc}: {err[-400:]}")

        # SIGTERM on a slow run: the segment in progress is finished (exit 0, the summary) or,
        # when that takes too long, the run stops at once (exit 1); within 5 s either way.
        p = subprocess.Popen([LPNODE, "transcode", "--input", CLIP, "--out", "out-slow", "--profiles", REFERENCE],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stderr.readline()
        p.send_signal(signal.SIGTERM)
        rc, out, err = ended_within("transcode slow", p, 5)
        err = first + err
        if rc == 0:
            seqs = [s["seq"] for s in json.loads(out)["segments"]]
            check(seqs and seqs == list(range(len(seqs))), f"transcode slow: segments {seqs}")
        elif rc is not None:
            check(rc == 1 and "did not finish within" in err, f"transcode slow: exit {rc}: {err[-400:]}")

        # The gateway: an orchestrator to start against, then the same inputs from a file.
        subprocess.run([LPNODE, "pm", "keygen", "--key-file", "o.key"], check=True, capture_output=True)
        gw = subprocess.run([LPNODE, "pm", "keygen", "--key-file", "g.key"], check=True, capture_output=True,
                            text=True).stdout.split()[0]
        subprocess.run([LPNODE, "ledger", "--db", "ledger.db", "fund", "--address", gw, "--deposit",
                        "1000000000000000000", "--reserve", "1000000000000000000"], check=True, capture_output=True)
        orch = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                 "--service-addr", "127.0.0.1:0", "--price-per-unit", "1", "--speed-preset",
                                 "ultrafast", "--gpu", "off"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        try:
            service = json.loads(orch.stdout.readline())["service"]
            gateway = [LPNODE, "gateway", "--orchestrators", service, "--key-file", "g.key", "--ledger", "ledger.db",
                       "--http-addr", "127.0.0.1:0"]
            for name in ("audio.ts", "stripped.ts"):
                rc, err = run_bounded(f"gateway {name}", gateway + ["--input", name, "--hls-dir", f"hls-{name}"], 10)
                if rc is not None:
                    one_error_line(f"gateway {name}", rc, err, "gateway")
            # An SRT listener nobody calls: the EOS of a stop could not pass the demuxer (no pads).
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            p = subprocess.Popen(gateway + ["--input", f"srt://127.0.0.1:{port}?mode=listener", "--hls-dir",
                                            "hls-idle"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            listening = p.stdout.readline()  # the addresses, printed once the pipeline plays
            check(listening.startswith("{"), f"gateway idle SRT: no addresses line: {listening!r}")
            p.send_signal(signal.SIGTERM)
            rc, _, err = ended_within("gateway idle SRT", p, 5)
            if rc is not None:
                check(rc == 0 and "no stream had arrived" in err, f"gateway idle SRT: exit {rc}: {err[-400:]}")
        finally:
            orch.kill()
            orch.wait()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
