#!/usr/bin/env python3
"""go-livepeer's HTTP push into `lpnode gateway` (--input none), with curl as the pusher: the
clip cut into segments by ffmpeg, each PUT to /live/<name>/<seq>.ts with
`Accept: multipart/mixed` comes back with one part per rendition (go-livepeer's part headers),
judged by ffprobe; a repeated seq is answered again without being sent to an orchestrator
again; garbage gets 422, a non-.ts name 400, GET 405; SIGTERM ends the stream's playlists.

Usage: gateway_push_test.py LPNODE CLIP
"""
import email.parser
import email.policy
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, keys_and_ledger  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

LPNODE = os.path.abspath(sys.argv[1])
CLIP = os.path.abspath(sys.argv[2])
SIZES = {"P240p30fps16x9": (426, 240), "P360p30fps16x9": (640, 360)}


def curl(url, path=None, accept=True, method=None):
    cmd = ["curl", "-s", "-D", "-", "-o", "body.bin", "--max-time", "120"]
    if path:
        cmd += ["-T", path]
    if accept:
        cmd += ["-H", "Accept: multipart/mixed"]
    if method:
        cmd += ["-X", method]
    head = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    status = [int(line.split()[1]) for line in head.splitlines() if line.startswith("HTTP/")]
    ctype = [line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("content-type:")]
    return (status[-1] if status else 0), (ctype[-1] if ctype else ""), open("body.bin", "rb").read()


def parts(ctype, body):
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    return list(msg.iter_parts()) if msg.is_multipart() else []


def metrics(url):
    """Unlabelled samples of a /metrics page, after the strict parser accepted it."""
    text = urllib.request.urlopen(url, timeout=10).read()
    parsed = subprocess.run(["node", os.path.join(HERE, "..", "js", "prometheus.mjs")], input=text,
                            capture_output=True)
    check(parsed.returncode == 0, f"{url} parses as Prometheus text: {parsed.stderr.decode()[-300:]}")
    out = {}
    for name, family in json.loads(parsed.stdout or b"{}").items():
        for sample in family["samples"]:
            if not sample["labels"]:
                out[sample["name"]] = sample["value"]
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        segs = keys_and_ledger(LPNODE, CLIP)
        orch = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                 "--service-addr", "127.0.0.1:0", "--price-per-unit", "1", "--speed-preset",
                                 "ultrafast", "--gpu", "off"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        info = json.loads(orch.stdout.readline())
        gateway = subprocess.Popen([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                                    "--ledger", "ledger.db", "--input", "none", "--http-addr", "127.0.0.1:0",
                                    "--hls-dir", "hls", "--verify-sample", "1", "--playlist-length", "0"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            base = json.loads(gateway.stdout.readline())["hls"].rsplit("/hls/", 1)[0]
            answers = {}
            for i, seg in enumerate(segs):
                status, ctype, body = curl(f"{base}/live/cam/{i}.ts", seg)
                check(status == 200 and ctype.startswith("multipart/mixed; boundary="), f"push {i}: {status} {ctype}")
                got = parts(ctype, body)
                check([p["Rendition-Name"] for p in got] == list(SIZES), f"push {i} parts {[dict(p) for p in got]}")
                for p in got:
                    name = p["Rendition-Name"]
                    check(p.get_content_type() == "video/mp2t" and p.get_param("name") == f"{name}_{i}.ts",
                          f"part Content-Type {p['Content-Type']}")
                    check(p["Content-Disposition"] == f'attachment; filename="{name}_{i}.ts"',
                          f"part Content-Disposition {p['Content-Disposition']}")
                    data = p.get_payload(decode=True)
                    check(int(p["Content-Length"]) == len(data), "part Content-Length")
                    open("part.ts", "wb").write(data)
                    probe = json.loads(subprocess.run(
                        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                         "stream=codec_name,width,height", "-of", "json", "part.ts"],
                        capture_output=True, text=True).stdout or "{}").get("streams", [{}])[0]
                    check((probe.get("codec_name"), probe.get("width"), probe.get("height")) == ("h264", *SIZES[name]),
                          f"push {i} {name}: {probe}")
                answers[i] = body.split(b"\r\n", 1)[1]  # past the random boundary line
            # The same seq again: the same renditions, not sent again.
            status, ctype, body = curl(f"{base}/live/cam/3.ts", segs[3])
            check(status == 200 and [p.get_payload(decode=True) for p in parts(ctype, body)] ==
                  [p.get_payload(decode=True) for p in parts(*curl(f"{base}/live/cam/3.ts", segs[3])[1:])],
                  "repeat answered the same")
            # Without Accept: 200, empty body, results on HLS.
            status, _, body = curl(f"{base}/live/other/0.ts", segs[0], accept=False)
            check(status == 200 and body == b"", f"push without Accept: {status} {body[:80]}")
            open("junk.ts", "wb").write(os.urandom(188 * 50))
            status, _, body = curl(f"{base}/live/cam/50.ts", "junk.ts")
            check(status == 422, f"garbage: {status} {body[:100]}")
            status, _, _ = curl(f"{base}/live/cam/51.mp4", "junk.ts")
            check(status == 400, f".mp4: {status}")
            status, _, _ = curl(f"{base}/live/cam/52.ts", method="GET", accept=False)
            check(status == 405, f"GET: {status}")
            status, _, _ = curl(f"{base}/live/cam/1.ts", segs[2])  # a seq already done: answered from it, body unread
            check(status == 200, f"an earlier seq already done is a repeat: {status}")
            # /metrics of both, now that nothing is in flight: strict Prometheus text (the node
            # parser in tests/js), counters equal to what this run did: 10 segments (9 on cam, 1
            # on other), tickets sent = received, winners = the ledger queue's rows.
            gm = metrics(base + "/metrics")
            om = metrics(info["admin"] + "/metrics")
            check(gm.get("livepeer_push_segments_total") == len(segs) + 1, f"gateway push segments: {gm}")
            check(om.get("livepeer_segment_transcoded_total") == len(segs) + 1, f"orchestrator segments: {om}")
            check(gm.get("livepeer_push_tickets_sent", 0) > 0 and
                  gm.get("livepeer_push_tickets_sent") == om.get("livepeer_tickets_recv"),
                  f"tickets sent {gm.get('livepeer_push_tickets_sent')} = received {om.get('livepeer_tickets_recv')}")
            queue = json.loads(subprocess.run([LPNODE, "ledger", "--db", "ledger.db", "queue"], check=True,
                                              capture_output=True, text=True).stdout)
            check(om.get("livepeer_winning_tickets_recv") == len(queue),
                  f"winners {om.get('livepeer_winning_tickets_recv')} = queued {len(queue)}")
            gateway.send_signal(signal.SIGTERM)
            out, err = gateway.communicate(timeout=120)
            check(gateway.returncode == 0, f"gateway exit {gateway.returncode}: {err[-800:]}")
            summary = json.loads(out.strip().splitlines()[-1])
            cam = summary["push"].get("cam", {})
            check(cam.get("segments") == len(segs), f"each seq sent once, repeats and garbage not: {summary}")
            check(cam.get("tickets_sent", 0) > 0, f"segments paid: {summary}")
            for name in SIZES:
                text = open(f"hls/cam/{name}/index.m3u8").read()
                check(text.rstrip().endswith("#EXT-X-ENDLIST") and text.count(".ts") == len(segs),
                      f"hls/cam/{name}: {text[-200:]}")
        finally:
            if gateway.poll() is None:
                gateway.kill()
            orch.send_signal(signal.SIGTERM)
            orch.wait(timeout=60)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
