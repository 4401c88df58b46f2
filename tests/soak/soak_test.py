#!/usr/bin/env python3
"""The soak (not in CI: `LP_SOAK=1 bash scripts/test.sh`, or by hand): one `lpnode orchestrator`
and one `lpnode gateway` for LP_SOAK_MINUTES (30) with a live stream (ffmpeg -re looping the gop2
clip over SRT) and a pushed stream (a segment every 2 s, go-livepeer's HTTP push). Every 30 s
the RSS, descriptors and threads of both processes are read from /proc. Judged at the end:

- flat: the mean of each figure over the last third of the run within 10% (plus a small slack
  for descriptors and threads) of its mean over the first third (10 minutes each in a 30-minute
  run);
- every segment in the playlists: the live stream's playlists hold every seq from 0 without a
  gap and end with ENDLIST; every push was answered 200;
- the books: tickets the gateway sent (both streams) = tickets the orchestrator received.

Prints the samples and the comparison (docs/benchmarks.md, "Soak", has the figures of a run).

Usage: soak_test.py LPNODE CLIP
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from checks import check, finish, keys_and_ledger, put, stop  # noqa: E402

LPNODE = os.path.abspath(sys.argv[1])
CLIP = os.path.abspath(sys.argv[2])
MINUTES = float(os.environ.get("LP_SOAK_MINUTES", "30"))


def usage(pid):
    status = open(f"/proc/{pid}/status").read()
    return (int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024, len(os.listdir(f"/proc/{pid}/fd")),
            int(re.search(r"Threads:\s+(\d+)", status).group(1)))


def metrics(url):
    out = {}
    for line in urllib.request.urlopen(url + "/metrics", timeout=10).read().decode().splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def playlist(path):
    text = open(path).read()
    return [int(x[:-3]) for x in re.findall(r"^(\d+\.ts)$", text, re.M)], text.rstrip().endswith("#EXT-X-ENDLIST")


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        segs = keys_and_ledger(LPNODE, CLIP)
        orch = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                 "--service-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                                 "--price-per-unit", "1", "--speed-preset", "ultrafast", "--gpu", "off"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        info = json.loads(orch.stdout.readline())
        srt = free_udp_port()
        gateway = subprocess.Popen([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                                    "--ledger", "ledger.db", "--input", f"srt://127.0.0.1:{srt}?mode=listener",
                                    "--http-addr", "127.0.0.1:0", "--hls-dir", "hls", "--playlist-length", "0",
                                    "--stream-name", "soak"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        feeder = None
        try:
            base = json.loads(gateway.stdout.readline())["hls"].rsplit("/hls/", 1)[0]
            feeder = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", CLIP, "-c", "copy",
                                       "-f", "mpegts", f"srt://127.0.0.1:{srt}?mode=caller&pkt_size=1316&linger=10"],
                                      stdin=subprocess.DEVNULL)
            end = time.time() + MINUTES * 60
            pushed = []
            samples = []

            def push_loop():
                seq = 0
                while time.time() < end:
                    started = time.time()
                    data = open(segs[seq % len(segs)], "rb").read()
                    pushed.append(put(f"{base}/live/push/{seq}.ts", data, 60))
                    seq += 1
                    time.sleep(max(0.0, 2.0 - (time.time() - started)))

            pusher = threading.Thread(target=push_loop)
            pusher.start()
            while time.time() < end:
                time.sleep(30)
                s = (round((time.time() - (end - MINUTES * 60)) / 60, 1), usage(orch.pid), usage(gateway.pid))
                samples.append(s)
                print(f"{s[0]:5.1f} min  orchestrator RSS {s[1][0]} MB, {s[1][1]} fds, {s[1][2]} threads;"
                      f"  gateway RSS {s[2][0]} MB, {s[2][1]} fds, {s[2][2]} threads", flush=True)
            pusher.join()
            feeder.send_signal(signal.SIGINT)
            feeder.wait(timeout=30)
            rc = gateway.wait(timeout=120)  # the caller leaving ends the live stream
            check(rc == 0, f"gateway exit {rc}")
            third = max(1, len(samples) // 3)
            for who, k in (("orchestrator", 1), ("gateway", 2)):
                for i, what in enumerate(("RSS MB", "fds", "threads")):
                    first = sum(s[k][i] for s in samples[:third]) / third
                    last = sum(s[k][i] for s in samples[-third:]) / third
                    slack = 0 if i == 0 else 3
                    print(f"{who} {what}: first third {first:.1f}, last third {last:.1f}")
                    check(last <= first * 1.1 + slack, f"{who} {what} flat: {first:.1f} -> {last:.1f}")
            check(pushed and all(p == 200 for p in pushed), f"every push 200: {[p for p in pushed if p != 200][:5]}")
            for name in ("source", "P240p30fps16x9", "P360p30fps16x9"):
                seqs, ended = playlist(f"hls/{name}/index.m3u8")
                check(ended and seqs == list(range(len(seqs))) and len(seqs) >= MINUTES * 60 / 2 * 0.9,
                      f"live {name}: {len(seqs)} segments, ended {ended}, in order {seqs == list(range(len(seqs)))}")
            summary = json.loads(gateway.stdout.read().strip().splitlines()[-1])
            om = metrics(info["admin"])
            sent = summary["tickets_sent"] + sum(p.get("tickets_sent", 0) for p in summary["push"].values())
            print(f"segments {summary['segments']} live + {len(pushed)} pushed, skipped {summary['skipped']}; "
                  f"tickets sent {sent}, received {om.get('livepeer_tickets_recv')}")
            check(summary["skipped"] == 0, f"no segment skipped: {summary['skipped']}")
            check(sent == om.get("livepeer_tickets_recv"), f"books: sent {sent} = received {om.get('livepeer_tickets_recv')}")
        finally:
            if feeder and feeder.poll() is None:
                feeder.kill()
            for p in (gateway, orch):
                if p.poll() is None:
                    stop(p, 30)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
