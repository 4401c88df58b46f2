#!/usr/bin/env python3
"""One gateway path: HTTP push runs through the gateway profile (--pipeline), and names with
quotes and backslashes come back intact in valid JSON.

Run A (--input none): a profile whose lpremote-transcode has its own ladder (P360p30fps4x3,
not --profiles) and whose lphlssink keeps 2 segments without the source rendition. Three
segments pushed to a stream named q"u\\o (URL-encoded) come back as that ladder, and the HLS
under hls/<name>/ follows the profile's lphlssink settings; /status and the summary parse as
JSON with the stream intact. Names with characters outside [A-Za-z0-9_.~-] (quotes, a
backslash, a space, a control character), a leading dot, or one the gateway writes itself
(source, a rendition's name, index.m3u8) are refused with 400.

Run B: a file input whose path holds quotes and backslashes, with such a --stream-name: the
address line and the summary parse as JSON and carry both intact.

Usage: gateway_profile_test.py LPNODE CLIP SOURCE_DIR
"""
import email.parser
import email.policy
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, keys_and_ledger  # noqa: E402

LPNODE = os.path.abspath(sys.argv[1])
CLIP = os.path.abspath(sys.argv[2])
SOURCE = os.path.abspath(sys.argv[3])
NAME = 'q"u\\o'
PUSH_NAME = "cam_1.a~b-c"  # every character a pushed stream's name may hold
# The 16:9 clip fitted into the preset's 480x360 box, its aspect kept (as go-livepeer does).
LADDER = {"P360p30fps4x3": (480, 270)}


def push(url, path):
    head = subprocess.run(["curl", "-s", "-D", "-", "-o", "body.bin", "--max-time", "120", "-T", path,
                           "-H", "Accept: multipart/mixed", url], capture_output=True, text=True).stdout
    status = [int(line.split()[1]) for line in head.splitlines() if line.startswith("HTTP/")]
    ctype = [line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("content-type:")]
    return (status[-1] if status else 0), (ctype[-1] if ctype else ""), open("body.bin", "rb").read()


def parts(ctype, body):
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    return list(msg.iter_parts()) if msg.is_multipart() else []


def size_of(data):
    open("part.ts", "wb").write(data)
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                       "stream=width,height", "-of", "json", "part.ts"],
                                      capture_output=True, text=True).stdout or "{}").get("streams", [{}])[0]
    return probe.get("width"), probe.get("height")


def json_line(text, what):
    try:
        return json.loads(text)
    except ValueError as e:
        check(False, f"{what} is JSON: {e}: {text[-300:]!r}")
        return {}


def run_push(info):
    profile = open(os.path.join(SOURCE, "pipelines", "gateway.gst")).read()
    mine = profile.replace("profiles=${profiles}", "profiles=P360p30fps4x3", 1).replace(
        "playlist-length=${playlist-length}", "playlist-length=2 include-source=false", 1)
    check(mine.count("P360p30fps4x3") == 1 and "include-source=false" in mine, "the profile was edited")
    open("mine.gst", "w").write(mine)
    gateway = subprocess.Popen([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                                "--ledger", "ledger.db", "--input", "none", "--http-addr", "127.0.0.1:0",
                                "--hls-dir", "hls", "--pipeline", "./mine.gst"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = json_line(gateway.stdout.readline(), "the address line")["hls"].rsplit("/hls/", 1)[0]
        quoted = urllib.parse.quote(PUSH_NAME, safe="")
        for i in range(3):
            status, ctype, body = push(f"{base}/live/{quoted}/{i}.ts", f"seg{i}.ts")
            got = parts(ctype, body)
            check(status == 200 and [p["Rendition-Name"] for p in got] == list(LADDER),
                  f"push {i}: {status}, the profile's ladder: {[p['Rendition-Name'] for p in got]}")
            for p in got:
                size = size_of(p.get_payload(decode=True))
                check(size == LADDER[p["Rendition-Name"]], f"push {i} {p['Rendition-Name']} size {size}")
        for bad in (NAME, "a b", "cam" + chr(1), "cam\r\nX:y", ".hidden", "-x", "source", "P240p30fps16x9",
                    "index.m3u8", "x" * 129):
            status, _, body = push(f"{base}/live/{urllib.parse.quote(bad, safe='')}/0.ts", "seg0.ts")
            check(status == 400 and b"stream name" in body, f"name {bad!r}: {status} {body!r}")
        check(sorted(os.listdir("hls")) == [PUSH_NAME], f"no directory for a refused name: {os.listdir('hls')}")
        status = json_line(urllib.request.urlopen(base + "/status", timeout=10).read().decode(), "/status")
        check(list(status.get("push", {})) == [PUSH_NAME] and status["push"][PUSH_NAME]["segments"] == 3,
              f"/status push: {status.get('push')}")
        gateway.send_signal(signal.SIGTERM)
        out, err = gateway.communicate(timeout=120)
        check(gateway.returncode == 0, f"gateway exit {gateway.returncode}: {err[-800:]}")
        summary = json_line(out.strip().splitlines()[-1], "the summary")
        check(summary.get("push", {}).get(PUSH_NAME, {}).get("segments") == 3, f"summary push: {summary.get('push')}")
        # The profile's lphlssink wrote the pushed stream's HLS: 2 segments kept, no source.
        media = os.path.join("hls", PUSH_NAME, "P360p30fps4x3", "index.m3u8")
        text = open(media).read() if os.path.exists(media) else ""
        check(text.rstrip().endswith("#EXT-X-ENDLIST") and text.count(".ts") == 2, f"{media}: {text!r}")
        check(os.path.exists(os.path.join("hls", PUSH_NAME, "index.m3u8")), "the stream's multivariant playlist")
        check(not os.path.exists(os.path.join("hls", PUSH_NAME, "source")), "include-source=false: no source rendition")
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()


def run_file(info):
    path = os.path.abspath('clip "one" \\ two.ts')
    subprocess.run(["ffmpeg", "-v", "error", "-i", CLIP, "-t", "4", "-c", "copy", "-f", "mpegts", path], check=True)
    stream = 'cam "7" \\ east'
    gateway = subprocess.run([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                              "--ledger", "ledger.db", "--input", path, "--stream-name", stream,
                              "--http-addr", "127.0.0.1:0", "--hls-dir", "hls-file"],
                             capture_output=True, text=True, timeout=300)
    lines = gateway.stdout.strip().splitlines()
    check(gateway.returncode == 0 and len(lines) == 2, f"file gateway: {gateway.returncode} {gateway.stderr[-800:]}")
    if len(lines) == 2:
        first = json_line(lines[0], "the address line")
        summary = json_line(lines[1], "the summary")
        check(first.get("input") == path, f"address line input: {first}")
        check(summary.get("input") == path and summary.get("stream") == stream, f"summary: {summary}")
        check(summary.get("segments", 0) >= 1, f"segments: {summary}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        keys_and_ledger(LPNODE, CLIP, 6)
        orch = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                 "--service-addr", "127.0.0.1:0", "--price-per-unit", "1", "--speed-preset",
                                 "ultrafast", "--gpu", "off"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        try:
            info = json.loads(orch.stdout.readline())
            run_push(info)
            run_file(info)
        finally:
            orch.send_signal(signal.SIGTERM)
            orch.wait(timeout=60)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
