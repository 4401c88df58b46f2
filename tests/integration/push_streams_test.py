#!/usr/bin/env python3
"""Pushed streams as strangers push them into `lpnode gateway --input none`, and sources of
extreme shapes (16x4000, 4000x16, 2x2, 128x72 at 29.97) through whole gateway runs with every
segment verified (--verify-sample 1): exit 0, nothing skipped, every segment verified.

Pushed streams:

- ticket params that expired while a stream was idle (the ledger's clock moved on 50 blocks
  between two pushes): the next push is answered 200 on its first try (the gateway refreshes
  the params and retries within the request);
- a gap in the numbers (0, 1, then 3): 3 and 4 are answered, the playlists carry
  EXT-X-DISCONTINUITY before 3, and 2 pushed late gets 400;
- 50 names at once with --max-streams 8, twice: 8 served, 42 refused 503 at once; once the
  streams are idle (--push-idle-timeout) they are ended and freed: after the second crowd,
  threads, descriptors and RSS back near what the gateway held after the first (from /proc),
  playlists ended, totals kept in /status.

Usage: push_streams_test.py LPNODE CLIP
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, keys_and_ledger, stop  # noqa: E402

LPNODE = os.path.abspath(sys.argv[1])
CLIP = os.path.abspath(sys.argv[2])
SANITIZED = os.environ.get("LP_SANITIZERS", "none") not in ("", "none")
IDLE = 3  # --push-idle-timeout


def usage(pid):
    status = open(f"/proc/{pid}/status").read()
    return (len(os.listdir(f"/proc/{pid}/fd")), int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024,
            int(re.search(r"Threads:\s+(\d+)", status).group(1)))


def fd_targets(pid):
    out = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def push(url, path):
    """(status, body, seconds) of one PUT."""
    start = time.time()
    req = urllib.request.Request(url, data=open(path, "rb").read(), method="PUT")
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, r.read(), time.time() - start
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.time() - start


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        keys_and_ledger(LPNODE, CLIP, 10)
        # The crowds push a small segment (320x180, 2 s): they test admission and freeing, not
        # transcoding, and 8 sessions of 1080p at once overran go-livepeer's deadlines in the
        # ThreadSanitizer build.
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=30", "-t", "2",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-f", "mpegts", "small.ts"], check=True)
        # The ledger's clock moves only when told (--block-time 0).
        orch = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                 "--service-addr", "127.0.0.1:0", "--admin-addr", "none", "--block-time", "0",
                                 "--price-per-unit", "1", "--speed-preset", "ultrafast", "--gpu", "off",
                                 "--max-sessions", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        info = json.loads(orch.stdout.readline())
        # Sources of extreme shapes through whole gateway runs, every segment verified
        # (--verify-sample 1): an honest orchestrator is never judged a cheat (a 16x4000 source
        # once failed at "PSNR 0.0 dB", the orchestrator suspended, every segment skipped).
        for size, rate in (("16x4000", "30"), ("4000x16", "30"), ("2x2", "30"), ("128x72", "30000/1001")):
            subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}", "-t",
                            "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", "-f",
                            "mpegts", f"shape-{size}.ts"], check=True)
            run = subprocess.run([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                                  "--ledger", "ledger.db", "--input", f"shape-{size}.ts", "--http-addr", "127.0.0.1:0",
                                  "--hls-dir", f"hls-{size}", "--verify-sample", "1"],
                                 capture_output=True, text=True, timeout=300)
            lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
            summary = json.loads(lines[-1]) if lines else {}
            check(run.returncode == 0 and summary.get("segments", 0) >= 2 and summary.get("skipped") == 0 and
                  summary.get("verified") == summary.get("segments") and summary.get("verify_failed") == 0,
                  f"{size} at {rate} fps, each segment verified: exit {run.returncode}, {summary}: "
                  f"{run.stderr[-600:]}")

        gateway = subprocess.Popen([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                                    "--ledger", "ledger.db", "--input", "none", "--http-addr", "127.0.0.1:0",
                                    "--hls-dir", "hls", "--max-streams", "8", "--push-idle-timeout", str(IDLE),
                                    "--verify-sample", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base = json.loads(gateway.stdout.readline())["hls"].rsplit("/hls/", 1)[0]

            # Ticket params expired between two pushes of one stream.
            status, body, _ = push(f"{base}/live/exp/0.ts", "seg0.ts")
            check(status == 200, f"exp/0: {status} {body[:200]!r}")
            subprocess.run([LPNODE, "ledger", "--db", "ledger.db", "advance", "--blocks", "50"], check=True,
                           capture_output=True)
            status, body, _ = push(f"{base}/live/exp/1.ts", "seg1.ts")
            check(status == 200, f"after the params expired, the first try: {status} {body[:200]!r}")

            # A gap in the numbers.
            answers = [push(f"{base}/live/gap/{i}.ts", f"seg{i}.ts")[0] for i in (0, 1, 3, 4)]
            check(answers == [200] * 4, f"0, 1, 3, 4 answered: {answers}")
            status, body, _ = push(f"{base}/live/gap/2.ts", "seg2.ts")
            check(status == 400 and b"older" in body, f"2 after 4: {status} {body!r}")
            for name in ("P240p30fps16x9", "P360p30fps16x9"):
                text = open(f"hls/gap/{name}/index.m3u8").read()
                check(re.search(r"1\.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:[0-9.]+,\n3\.ts\n", text) is not None,
                      f"hls/gap/{name}: EXT-X-DISCONTINUITY before 3: {text}")

            # Both streams go idle and are ended: what the gateway holds without streams.
            time.sleep(IDLE + 6)
            for name in ("exp", "gap"):
                text = open(f"hls/{name}/P240p30fps16x9/index.m3u8").read()
                check(text.rstrip().endswith("#EXT-X-ENDLIST"), f"idle stream {name} ended: {text[-120:]}")
            # 50 names at once, twice: the first crowd warms what the second must leave as it
            # found it (glibc keeps the stacks of ended threads for reuse, and malloc's arenas).
            def crowd(tag):
                results = [None] * 50

                def one(i):
                    results[i] = push(f"{base}/live/{tag}{i}/0.ts", "small.ts")

                threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
                for t in threads:
                    t.start()
                time.sleep(1)
                during = usage(gateway.pid)
                for t in threads:
                    t.join()
                served = [i for i, r in enumerate(results) if r[0] == 200]
                refused = [r for r in results if r[0] == 503]
                check(len(served) == 8 and len(refused) == 42,
                      f"{tag}: 8 served, 42 refused: {sorted(set((r[0], r[1][:80]) for r in results))}")
                # At once: every refusal before the first served stream's answer (which waits for
                # a transcode); absolute times depend on the build (a sanitizer's is slower).
                first_served = min((results[i][2] for i in served), default=0)
                check(all(b"--max-streams" in r[1] and r[2] < first_served for r in refused),
                      f"{tag}: refused at once (before {first_served:.1f} s), saying why: "
                      f"{[(r[1][:80], round(r[2], 1)) for r in refused][:3]}")
                time.sleep(IDLE + 6)
                return served, during

            crowd("w")
            before = usage(gateway.pid)
            served, during = crowd("s")
            after = usage(gateway.pid)
            print(f"gateway fds/RSS MB/threads: after a first crowd {before}, 8 streams {during}, idle again {after}")
            if not check(after[0] <= before[0] + 2, f"descriptors freed: {before} -> {during} -> {after}"):
                print("the gateway's descriptors:", fd_targets(gateway.pid))
            check(after[2] <= before[2] + 1, f"threads freed: {before} -> {during} -> {after}")
            if not SANITIZED:
                check(after[1] <= before[1] * 1.2 + 2, f"RSS back within 20%: {before} -> {during} -> {after}")
            status = json.loads(urllib.request.urlopen(base + "/status", timeout=10).read())
            pushed = status.get("push", {})
            check(all(pushed.get(f"s{i}", {}).get("segments") == 1 for i in served) and
                  pushed.get("exp", {}).get("segments") == 2 and pushed.get("gap", {}).get("segments") == 4,
                  f"totals of ended streams kept: {pushed}")
            # A name freed by idleness takes pushes again.
            status, body, _ = push(f"{base}/live/s{served[0] if served else 0}/1.ts", "small.ts")
            check(status == 200, f"an ended stream pushed again: {status} {body[:200]!r}")
            check(stop(gateway, 30) == 0, "gateway stops cleanly")
        finally:
            for p in (gateway, orch):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in (gateway, orch):
                stop(p, 30)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
