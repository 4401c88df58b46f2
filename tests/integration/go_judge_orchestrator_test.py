#!/usr/bin/env python3
"""`lpnode gateway` against an independent orchestrator: lpjudge's orchestrator mode (Go,
tests/judge/orchestrator.go), which speaks go-livepeer's protocol with Go's own stacks (net/http
with ALPN h2 and http/1.1, grpc-go routed by content type on the same TLS port, as go-livepeer
serves) and transcodes with ffmpeg. The gateway streams the gop2 clip through it twice: once
with its HTTP client forced to HTTP/1.1 (SOUP_FORCE_HTTP1=1), once as it chooses (HTTP/2, which
the judge offers). Each run: the gateway exits 0; every segment of the clip is in every playlist
(source and renditions), ended; the judge saw every /segment and rendition download over the
protocol the run asked for; the judge received tickets, as many and of the same EV as the
gateway says it sent.

The gateway runs a copy of the repository's gateway profile (pipelines/gateway.gst) with the
remote transcoder's timeout-multiplier raised: go-livepeer's deadlines (8 s per 2 s segment)
are a latency budget, and this test judges the protocol on a loaded machine, not the speed of
a transcoder that is an ffmpeg process per segment.

Usage: go_judge_orchestrator_test.py LPNODE JUDGE_DIR [CLIP]
  JUDGE_DIR: where tests/judge/build.sh builds lpjudge (built or brought up to date here)
"""
from fractions import Fraction
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import check, finish  # noqa: E402

LPNODE = os.path.abspath(sys.argv[1])
JUDGE_DIR = os.path.abspath(sys.argv[2])
CLIP = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else os.path.join(
    HERE, "..", "data", "media", "live-1080p30-h264-aac-16s-gop2.ts")
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PROFILES = ["P240p30fps16x9", "P360p30fps16x9"]
DEPOSIT = "1000000000000000000"
TICKET_EV = "10000000"  # wei: at 1 wei/pixel a 2 s segment of the two rungs costs ~2 tickets
# go-livepeer's contract on the early 200, made strict: the judge sends 200 at once and holds
# every TranscodeResult until 7 s after the request, past the gateway's deadline for the 200
# (max(2 s, segment/2) x 3 = 6 s) and within the one for the answer (max(8 s, 4 x segment) x 3 =
# 24 s): the stream passes only if the gateway takes the early 200 as the end of its upload.
# Over HTTP/2 libsoup 3.2 completes soup_session_send_async only at the first DATA frame; the
# segment client takes the status from got-headers (this test caught it). LP_JUDGE_EARLY_STATUS=0
# answers as soon as the transcode is done, with the deadlines widened instead.
EARLY_STATUS = os.environ.get("LP_JUDGE_EARLY_STATUS", "1") == "1"
TIMEOUT_MULTIPLIER = "3" if EARLY_STATUS else "6"
HOLD_ANSWER = "7s" if EARLY_STATUS else "0s"


def playlist(path):
    if not os.path.exists(path):
        return [], False
    text = open(path).read()
    seqs = [int(m.group(1)) for m in re.finditer(r"^(\d+)\.ts$", text, re.M)]
    return seqs, "#EXT-X-ENDLIST" in text


def build_judge():
    p = subprocess.run(["bash", os.path.join(REPO, "tests", "judge", "build.sh"), JUDGE_DIR], capture_output=True,
                       text=True, timeout=600)
    check(p.returncode == 0, f"building lpjudge: {p.stdout[-500:]} {p.stderr[-1000:]}")
    return os.path.join(JUDGE_DIR, "lpjudge")


def gateway_profile():
    """The repository's gateway profile with the remote transcoder's deadlines widened."""
    text = open(os.path.join(REPO, "pipelines", "gateway.gst")).read()
    widened = text.replace("max-in-flight=${max-in-flight}",
                           "max-in-flight=${max-in-flight} timeout-multiplier=" + TIMEOUT_MULTIPLIER, 1)
    check(widened != text, "pipelines/gateway.gst has lpremote-transcode's max-in-flight=${max-in-flight}")
    with open("gateway.gst", "w") as f:
        f.write(widened)
    return os.path.abspath("gateway.gst")


def run(judge, ledger_status, pipeline, proto):
    """One gateway run through a fresh judge; proto is what the judge must see: HTTP/1.1 or HTTP/2.0."""
    tag = "h1" if proto == "HTTP/1.1" else "h2"
    print(f"run {tag}: the gateway's segments and downloads must come over {proto}"
          + (f"; answers held {HOLD_ANSWER} after an early 200" if EARLY_STATUS else ""), flush=True)
    judge_args = [judge, "orchestrator", "--listen", "127.0.0.1:0", "--key-file", "o.key", "--lpnode", LPNODE,
                  "--price-per-unit", "1", "--pixels-per-unit", "1", "--ticket-ev", TICKET_EV,
                  "--block", str(ledger_status["block"]), "--round", str(ledger_status["round"]),
                  "--round-block-hash", ledger_status["roundBlockHash"], "--max-transcodes", "2",
                  "--hold-answer", HOLD_ANSWER]
    jerr = open(f"judge-{tag}.err", "w")
    jp = subprocess.Popen(judge_args, stdout=subprocess.PIPE, stderr=jerr, text=True)
    gw = None
    try:
        hello = json.loads(jp.stdout.readline() or "{}")
        if not check("service" in hello and "address" in hello, f"{tag}: judge ready line {hello}"):
            return
        env = dict(os.environ)
        env.pop("SOUP_FORCE_HTTP1", None)
        if proto == "HTTP/1.1":
            env["SOUP_FORCE_HTTP1"] = "1"
        hls = f"hls-{tag}"
        gw = subprocess.Popen(
            [LPNODE, "gateway", "--orchestrators", hello["service"], "--key-file", "g.key", "--ledger", "ledger.db",
             "--input", CLIP, "--profiles", ",".join(PROFILES), "--hls-dir", hls, "--http-addr", "127.0.0.1:0",
             "--playlist-length", "0", "--max-in-flight", "2", "--pipeline", pipeline, "--stream-name", f"judge-{tag}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            out, err = gw.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            gw.send_signal(signal.SIGTERM)
            out, err = gw.communicate(timeout=60)
            check(False, f"{tag}: the gateway did not finish the file within 300 s")
        check(gw.returncode == 0, f"{tag}: gateway exit {gw.returncode}: {err[-2000:]}")
        lines = [line for line in out.strip().splitlines() if line.startswith("{")]
        summary = json.loads(lines[-1]) if lines else {}

        # The judge's books, then stop it.
        jp.send_signal(signal.SIGTERM)
        jout, _ = jp.communicate(timeout=60)
        check(jp.returncode == 0, f"{tag}: judge exit {jp.returncode}")
        jlines = [line for line in jout.strip().splitlines() if line.startswith("{")]
        judged = json.loads(jlines[-1]) if jlines else {}

        # HLS: every segment of the clip in every playlist, in order, ended.
        master = open(f"{hls}/index.m3u8").read() if os.path.exists(f"{hls}/index.m3u8") else ""
        source, ended = playlist(f"{hls}/source/index.m3u8")
        check(ended and len(source) >= 8 and source == list(range(len(source))), f"{tag}: source playlist {source}")
        for name in PROFILES:
            check(f"{name}/index.m3u8" in master, f"{tag}: {name} in the multivariant playlist")
            seqs, ended = playlist(f"{hls}/{name}/index.m3u8")
            check(ended and seqs == source, f"{tag}: {name} playlist {seqs} vs source {source}")
        check(summary.get("segments") == len(source) and summary.get("skipped") == 0
              and summary.get("verify_failed") == 0, f"{tag}: gateway summary {summary}")

        # The judge: every segment over the protocol asked for, answered with renditions.
        segs = judged.get("segment_list", [])
        protos = judged.get("segment_protocols", {})
        print(f"run {tag}: judge saw /segment over {protos}, downloads over {judged.get('download_protocols')}, "
              f"gRPC over {judged.get('grpc_protocols')}; {judged.get('tickets')} tickets, "
              f"{len(source)} segments in the playlists", flush=True)
        check(len(segs) >= len(source) and protos == {proto: len(segs)},
              f"{tag}: /segment protocols {protos} for {len(segs)} segments, wanted all {proto}")
        check(all(s["status"] == 200 and not s.get("error") for s in segs),
              f"{tag}: judge's segments: {[(s['seq'], s['status'], s.get('error')) for s in segs if s['status'] != 200 or s.get('error')]}")
        check(sorted({s["seq"] for s in segs}) == source, f"{tag}: judge's seqs {[s['seq'] for s in segs]} vs {source}")
        downloads = judged.get("download_protocols", {})
        check(judged.get("downloads", 0) >= len(source) * len(PROFILES) and downloads == {proto: judged["downloads"]},
              f"{tag}: rendition downloads {judged.get('downloads')} over {downloads}")
        check(judged.get("get_orchestrator", 0) >= 1 and set(judged.get("grpc_protocols", {})) == {"HTTP/2.0"},
              f"{tag}: GetOrchestrator {judged.get('get_orchestrator')} over {judged.get('grpc_protocols')}")
        check(judged.get("rejections") == {} and judged.get("ticket_problems") == {} and
              judged.get("download_misses") == 0,
              f"{tag}: judge rejections {judged.get('rejections')}, ticket problems {judged.get('ticket_problems')}, "
              f"download misses {judged.get('download_misses')}")

        # Payment: tickets arrived, as many and of the same EV as the gateway sent.
        check(judged.get("tickets", 0) > 0, f"{tag}: the judge received tickets: {judged.get('tickets')}")
        check(judged.get("tickets") == summary.get("tickets_sent"),
              f"{tag}: judge counted {judged.get('tickets')} tickets, gateway sent {summary.get('tickets_sent')}")
        check(Fraction(judged.get("ev", "-1")) == Fraction(summary.get("ev_sent", "-2")),
              f"{tag}: judge's EV {judged.get('ev')} vs gateway's {summary.get('ev_sent')}")
        paid = {o.get("address"): o for o in summary.get("orchestrators", [])}
        check(hello["address"] in paid and set(judged.get("senders", {})) == {ledger_status["gateway"]},
              f"{tag}: gateway paid {list(paid)}, judge {hello['address']}; senders {list(judged.get('senders', {}))}")
    finally:
        for p in (gw, jp):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        jerr.close()


def main():
    judge = build_judge()
    if not os.path.exists(judge):
        return finish()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        subprocess.run([LPNODE, "pm", "keygen", "--key-file", "o.key"], check=True, capture_output=True)
        gw_addr = subprocess.run([LPNODE, "pm", "keygen", "--key-file", "g.key"], check=True, capture_output=True,
                                 text=True).stdout.split()[0]
        subprocess.run([LPNODE, "ledger", "--db", "ledger.db", "fund", "--address", gw_addr, "--deposit", DEPOSIT,
                        "--reserve", DEPOSIT], check=True, capture_output=True)
        # The judge's ticket params expire relative to the gateway's ledger clock, and carry its
        # round (the gateway checks the expiration block against its ledger).
        status = json.loads(subprocess.run([LPNODE, "ledger", "--db", "ledger.db", "status"], check=True,
                                           capture_output=True, text=True).stdout)
        status["gateway"] = gw_addr
        pipeline = gateway_profile()
        for proto in ("HTTP/1.1", "HTTP/2.0"):
            run(judge, status, pipeline, proto)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
