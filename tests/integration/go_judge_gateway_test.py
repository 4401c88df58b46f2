#!/usr/bin/env python3
"""`lpnode orchestrator` judged by an independent gateway written in Go (tests/judge, `lpjudge
gateway`): grpc-go's GetOrchestrator over TLS, Go's net/http POST /segment over HTTP/2 and then
HTTP/1.1 only, go-livepeer's books (tickets only when the credit does not cover the fee
estimate), a session refreshed every 10 segments through OrchestratorInfo.transcoder, and
EndTranscodingSession. ffprobe judges every rendition; the orchestrator's /status credit for the
gateway must equal the judge's books exactly.

Usage: go_judge_gateway_test.py LPNODE JUDGE_DIR
  JUDGE_DIR: where tests/judge/build.sh builds lpjudge (built or rebuilt here when missing or
  older than its sources).
"""
import glob
import json
import os
import select
import subprocess
import sys
import tempfile
import urllib.request
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, stop  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CLIP = os.path.join(REPO, "tests", "data", "media", "live-1080p30-h264-aac-16s-gop2.ts")
LPNODE = os.path.abspath(sys.argv[1])
JUDGE_DIR = os.path.abspath(sys.argv[2])
JUDGE = os.path.join(JUDGE_DIR, "lpjudge")

PROFILES = {"P240p30fps16x9": (426, 240), "P360p30fps16x9": (640, 360)}
COUNT = 40
REFRESH_EVERY = 10
# Each 2 s segment is 60 frames of 426x240 + 640x360 = 19,958,400 pixels; at 20000 wei per pixel
# that is ~4e11 wei, about 0.4 of the default ticket EV (1e12): a gateway that needs credit of
# max(fee estimate, EV) sends one ticket for some segments and none for others.
PRICE_PER_UNIT = "20000"
PIXELS_PER_UNIT = "1"


def finish_ok():
    import checks
    return checks.failures == 0


def build_judge():
    sources = glob.glob(os.path.join(REPO, "tests", "judge", "*"))
    sources.append(os.path.join(REPO, "elements", "net", "lp_rpc.proto"))
    if os.access(JUDGE, os.X_OK) and os.path.getmtime(JUDGE) >= max(os.path.getmtime(s) for s in sources):
        return True
    p = subprocess.run(["bash", os.path.join(REPO, "tests", "judge", "build.sh"), JUDGE_DIR],
                       capture_output=True, text=True, timeout=600)
    return check(p.returncode == 0 and os.access(JUDGE, os.X_OK), f"building the judge: {p.stdout}{p.stderr}")


def read_line(proc, timeout):
    """The first stdout line of proc within timeout seconds, or None."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else None


def probe(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                        "stream=codec_type,width,height:format=duration", "-of", "json", path],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def status(admin):
    with urllib.request.urlopen(admin + "/status", timeout=30) as r:
        return json.loads(r.read())


def credit_of(st, gateway):
    for g in st.get("gateways", []):
        if g["address"].lower() == gateway.lower():
            return Fraction(g["credit"])
    return Fraction(0)


def run_judge(http, orch_service, segdir, out, tmp):
    cmd = [JUDGE, "gateway", "--orch", orch_service, "--lpnode", LPNODE, "--key-file", "g.key", "--segments", segdir,
           "--count", str(COUNT), "--refresh-every", str(REFRESH_EVERY), "--http", str(http), "--profiles",
           ",".join(PROFILES), "--out", out, "--end"]
    with open(os.path.join(tmp, f"judge-http{http}.log"), "w") as log:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, timeout=900)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        report = None
    if not check(p.returncode == 0 and report is not None and not report.get("error"),
                 f"judge --http {http}: exit {p.returncode}: {report.get('error') if report else p.stdout[-500:]}"):
        with open(os.path.join(tmp, f"judge-http{http}.log")) as f:
            print(f.read()[-3000:])
        return None
    return report


def judge_report(http, report, service):
    want_proto = {1: "HTTP/1.1", 2: "HTTP/2.0"}[http]
    segs = report["segments"]
    check(len(segs) == COUNT, f"http {http}: {len(segs)} segments, not {COUNT}")
    check(all(s["status"] == 200 for s in segs), f"http {http}: statuses {sorted({s['status'] for s in segs})}")
    protos = sorted({s["proto"] for s in segs})
    print(f"judge --http {http}: protocols {protos}, {report['tickets_sent']} tickets on "
          f"{report['ticketed_segments']} segments, {report['ticketless_segments']} ticket-less", flush=True)
    check(protos == [want_proto], f"http {http}: protocols {protos}, wanted {want_proto}")
    check(report["ticketless_segments"] >= 1, f"http {http}: no ticket-less segment")
    check(report["ticketed_segments"] >= 1, f"http {http}: no segment with tickets")
    check(report["tickets_sent"] == sum(s["tickets"] for s in segs), f"http {http}: ticket totals")
    check(report["ticketed_segments"] + report["ticketless_segments"] == COUNT, f"http {http}: segment totals")
    refreshes = report.get("refreshes") or []
    check(len(refreshes) == (COUNT - 1) // REFRESH_EVERY, f"http {http}: {len(refreshes)} refreshes")
    check(all(r["target"] == service for r in refreshes), f"http {http}: refresh targets {refreshes} vs {service}")
    check(len(set(report["sessions"])) == len(refreshes) + 1, f"http {http}: sessions {report['sessions']}")
    check(report["ended"] == len(refreshes) + 1, f"http {http}: {report['ended']} sessions ended")
    check(Fraction(report["expected_credit"]) == Fraction(report["ev_sent"]) - Fraction(report["fees"]),
          f"http {http}: books {report['ev_sent']} - {report['fees']} != {report['expected_credit']}")
    bad = []
    for s in segs:
        if len(s["renditions"]) != len(PROFILES):
            bad.append(f"seq {s['seq']}: {len(s['renditions'])} renditions")
            continue
        for path, (name, (w, h)) in zip(s["renditions"], PROFILES.items()):
            info = probe(path)
            streams = (info or {}).get("streams", [])
            duration = float((info or {}).get("format", {}).get("duration", 0))
            if not streams or streams[0].get("codec_type") != "video":
                bad.append(f"{path}: no video stream")
            elif (streams[0].get("width"), streams[0].get("height")) != (w, h):
                bad.append(f"{path}: {streams[0].get('width')}x{streams[0].get('height')}, not {w}x{h} ({name})")
            elif not 1.5 <= duration <= 2.5:
                bad.append(f"{path}: {duration} s")
    check(not bad, f"http {http}: renditions: {bad[:5]} ({len(bad)} bad)")


def main():
    if not build_judge():  # build.sh names what is missing (scripts/setup.sh installs it)
        return finish()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        os.mkdir("segs")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", CLIP, "-c", "copy", "-f", "segment", "-segment_time", "2",
                        "segs/seg%03d.ts"], check=True, timeout=120)
        for f in sorted(glob.glob("segs/*.ts")):  # the clip's short tail is not a 2 s segment
            info = probe(f)
            if not info or float(info.get("format", {}).get("duration", 0)) < 1.5:
                os.remove(f)
        check(len(glob.glob("segs/*.ts")) >= 4, f"segments: {os.listdir('segs')}")

        subprocess.run([LPNODE, "pm", "keygen", "--key-file", "o.key"], check=True, capture_output=True)
        gateway = subprocess.run([LPNODE, "pm", "keygen", "--key-file", "g.key"], check=True, capture_output=True,
                                 text=True).stdout.strip()
        subprocess.run([LPNODE, "ledger", "--db", "l.db", "fund", "--address", gateway, "--deposit",
                        "1000000000000000000", "--reserve", "1000000000000000000"], check=True, capture_output=True)

        err = open("orchestrator.err", "w")
        proc = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "l.db", "--service-addr",
                                 "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--price-per-unit", PRICE_PER_UNIT,
                                 "--pixels-per-unit", PIXELS_PER_UNIT, "--speed-preset", "ultrafast", "--gpu", "off"],
                                stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            line = read_line(proc, 60)
            if not check(line, "orchestrator printed no JSON line within 60 s"):
                return finish()
            info = json.loads(line)
            service, admin = info["service"], info["admin"]
            check(info["segments"] == "https://" + service, f"one port for gRPC and segments: {info}")

            ev, fees, tickets = Fraction(0), Fraction(0), 0
            for http in (2, 1):
                report = run_judge(http, service, "segs", f"out{http}", tmp)
                if report is None:
                    continue
                check(report["orchestrator"] == info["address"], f"orchestrator address {report['orchestrator']}")
                check(report["transcoder"] == "https://" + service, f"transcoder {report['transcoder']}")
                judge_report(http, report, service)
                ev += Fraction(report["ev_sent"])
                fees += Fraction(report["fees"])
                tickets += report["tickets_sent"]
                st = status(admin)
                credit = credit_of(st, gateway)
                check(credit == ev - fees,
                      f"after --http {http}: /status credit {credit} != the judge's {ev - fees} (ev {ev}, fees {fees})")
                check(st["tickets_recv"] == tickets, f"after --http {http}: tickets_recv {st['tickets_recv']} != {tickets}")
                check(Fraction(st["ev_recv"]) == ev, f"after --http {http}: ev_recv {st['ev_recv']} != {ev}")
            check(proc.poll() is None, f"orchestrator still running (exit {proc.returncode})")
        finally:
            rc = stop(proc, 60)
            err.close()
        with open("orchestrator.err") as f:
            log = f.read()
        if not check(rc == 0, f"orchestrator clean stop: exit {rc}") or not finish_ok():
            print("orchestrator stderr (end):\n" + log[-3000:])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
