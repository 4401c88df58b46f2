#!/usr/bin/env python3
"""SIGTERM ends `lpnode orchestrator` and `lpnode gateway` within 5 s in every state, and a
second SIGTERM within 1 s, judged by the clock from outside:

- an orchestrator transcoding a long segment (paid, in flight): ended within 5 s; exit 0 if the
  segment finished in the grace, else 1 with a line saying it was cut;
- a gateway whose pushed segment is in flight at the orchestrator: ended within 5 s, the push
  answered (not left hanging);
- a gateway reading a file (segments in flight): ended within 5 s; exit 0 with every playlist
  ended, or 1 with a line saying what did not finish;
- the same gateway and orchestrator states, signalled twice 0.3 s apart: ended within 1 s of the
  second.

Usage: stop_signals_test.py LPNODE CLIP   (CLIP: a long 1080p clip, pushed whole as one segment)
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
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, keys_and_ledger, put  # noqa: E402

LPNODE = os.path.abspath(sys.argv[1])
CLIP = os.path.abspath(sys.argv[2])
LADDER = "P720p30fps16x9,P360p30fps16x9"  # enough work that a 16 s segment is still in flight
# The promise is the release build's; a sanitizer's build tears down (frees, checks) several
# times slower, and gets twice the time.
SLACK = 2 if os.environ.get("LP_SANITIZERS", "none") not in ("", "none") else 1


def orchestrator():
    p = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                          "--service-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--price-per-unit", "1",
                          "--gpu", "off"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())


def gateway(service, *extra):
    p = subprocess.Popen([LPNODE, "gateway", "--orchestrators", service, "--key-file", "g.key", "--ledger",
                          "ledger.db", "--http-addr", "127.0.0.1:0", "--profiles", LADDER, "--verify-sample", "0",
                          *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())


def metric(admin, name):
    try:
        text = urllib.request.urlopen(admin + "/metrics", timeout=10).read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def in_flight(admin, limit=300):
    """Waits until the orchestrator has been paid for a segment it has not finished."""
    end = time.time() + limit
    while time.time() < end:
        if (metric(admin, "livepeer_tickets_recv") or 0) > 0:
            return (metric(admin, "livepeer_segment_transcoded_total") or 0) == 0
        time.sleep(0.05)
    return False


def push_in_flight(hls_dir, procs):
    """A new orchestrator and a push-only gateway; the whole clip PUT as segment 0 of stream
    `long` (its 16 s announced) in a thread, until the orchestrator is paid for it and still
    transcoding. (orchestrator, its info, gateway, the thread, the answers it appends to.)"""
    orch, info = orchestrator()
    gw, addrs = gateway(info["service"], "--input", "none", "--hls-dir", hls_dir)
    procs += [orch, gw]
    base = addrs["hls"].rsplit("/hls/", 1)[0]
    answers = []
    t = threading.Thread(target=lambda: answers.append(
        put(f"{base}/live/long/0.ts", open(CLIP, "rb").read(), 300, {"Content-Duration": "16000"})), daemon=True)
    t.start()
    check(in_flight(info["admin"]), f"{hls_dir}: a pushed segment paid and in flight at the orchestrator")
    return orch, info, gw, t, answers


def signalled(what, proc, times=1, gap=0.3):
    """Sends SIGTERM `times` times `gap` apart; (seconds from the last signal to the exit, exit
    status, stderr), the seconds None when it was still running 30 s later (then killed)."""
    for i in range(times):
        if i:
            time.sleep(gap)
        proc.send_signal(signal.SIGTERM)
    sent = time.time()
    try:
        proc.wait(timeout=30)
        took = time.time() - sent
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        took = None
    print(f"{what}: exit {proc.returncode}, {took if took is None else round(took, 2)} s after the last SIGTERM")
    return took, proc.returncode, proc.stderr.read()


def ended(path):
    return os.path.exists(path) and open(path).read().rstrip().endswith("#EXT-X-ENDLIST")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        keys_and_ledger(LPNODE)
        procs = []
        try:
            # 1. The orchestrator with a paid segment in flight.
            orch, info, gw, t, answers = push_in_flight("hls1", procs)
            took, rc, err = signalled("orchestrator in flight", orch)
            check(took is not None and took <= 5 * SLACK, f"orchestrator in flight: ended {took} s after SIGTERM")
            check(rc == 0 or (rc == 1 and "were cut" in err), f"orchestrator in flight: exit {rc}: {err[-400:]}")
            t.join(timeout=120)
            check(len(answers) == 1 and isinstance(answers[0], int), f"the push answered: {answers}")

            # 2. The gateway with that push in flight at a new orchestrator.
            took, rc, err = signalled("gateway, its orchestrator gone", gw)
            check(took is not None and took <= 5 * SLACK,
                  f"gateway, its orchestrator gone: ended {took} s after SIGTERM")
            orch, info, gw, t, answers = push_in_flight("hls2", procs)
            took, rc, err = signalled("gateway, a push in flight", gw)
            check(took is not None and took <= 5 * SLACK, f"gateway, a push in flight: ended {took} s after SIGTERM")
            check(rc == 0 or (rc == 1 and "did not finish within" in err), f"gateway push: exit {rc}: {err[-400:]}")
            t.join(timeout=30)
            check(len(answers) == 1 and isinstance(answers[0], int),
                  f"gateway push: the push answered before the exit: {answers}")

            # 3. The orchestrator (its segment still in flight), twice: at once.
            took, rc, err = signalled("orchestrator, twice", orch, times=2)
            check(took is not None and took <= 1 * SLACK, f"orchestrator, twice: ended {took} s after the second")

            # 4. A gateway reading a file, segments in flight.
            orch, info = orchestrator()
            for tag, times in (("once", 1), ("twice", 2)):
                gw, addrs = gateway(info["service"], "--input", CLIP, "--hls-dir", f"hls-{tag}")
                procs.append(gw)
                for line in gw.stderr:
                    if re.match(r"lpnode gateway: \S+/\d+ from 0x", line):
                        break
                took, rc, err = signalled(f"gateway file ({tag})", gw, times=times)
                limit = (5 if times == 1 else 1) * SLACK
                check(took is not None and took <= limit,
                      f"gateway file ({tag}): ended {took} s after the last SIGTERM (at most {limit})")
                if times == 1:
                    check(rc == 0 or (rc == 1 and "did not finish within" in err), f"gateway file: exit {rc}: {err[-400:]}")
                    if rc == 0:
                        for name in LADDER.split(","):
                            check(ended(f"hls-{tag}/{name}/index.m3u8"), f"gateway file: {name} playlist ended")
                else:  # 0: it had finished everything before the second signal
                    check(rc == 1 or (rc == 0 and all(ended(f"hls-{tag}/{n}/index.m3u8") for n in LADDER.split(","))),
                          f"gateway file, twice: exit {rc}: {err[-400:]}")
            took, rc, err = signalled("orchestrator after the gateways", orch)
            check(took is not None and took <= 5 * SLACK, f"orchestrator after the gateways: ended {took} s")
            check(rc == 0 or (rc == 1 and "were cut" in err), f"orchestrator after the gateways: exit {rc}: {err[-400:]}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
