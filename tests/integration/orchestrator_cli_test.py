#!/usr/bin/env python3
"""`lpnode orchestrator` as a process: starts, registers itself in the local ledger, answers
HTTPS with go-livepeer's status codes for hostile requests (Python's ssl and http.client as an
independent client), and stops cleanly on SIGTERM.

Usage: orchestrator_cli_test.py LPNODE
"""
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, stop  # noqa: E402
import time

LPNODE = os.path.abspath(sys.argv[1])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        subprocess.run([LPNODE, "pm", "keygen", "--key-file", "o.key"], check=True, capture_output=True)
        p = subprocess.run([LPNODE, "orchestrator", "--key-file", "o.key"], capture_output=True, text=True)
        check(p.returncode == 2 and "--ledger is required" in p.stderr, f"missing --ledger: {p.stderr}")
        p = subprocess.run([LPNODE, "orchestrator", "--help"], capture_output=True, text=True)
        check(p.returncode == 0 and "POST /segment" in p.stdout, "orchestrator --help")

        proc = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "l.db", "--service-addr",
                                 "127.0.0.1:0", "--price-per-unit", "1"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            info = json.loads(line)
            reg = json.loads(subprocess.run([LPNODE, "ledger", "--db", "l.db", "orchestrators"], capture_output=True,
                                            text=True, check=True).stdout)
            check(any(o["address"] == info["address"] and o["serviceUri"] == "https://" + info["service"] for o in reg),
                  f"registered: {reg} vs {info}")
            host, port = info["segments"][len("https://"):].split(":")
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # a self-signed certificate made at start

            def request(method, path, headers=None, body=None):
                c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=20)
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                data = r.read()
                c.close()
                return r.status, data

            status, _ = request("GET", "/stream/abcd1234/240p0/0.ts")
            check(status == 404, f"unknown rendition: {status}")
            status, body = request("POST", "/segment", {"Livepeer-Payment": "!!", "Livepeer-Segment": ""}, b"x" * 100)
            check(status == 402, f"bad payment header: {status} {body[:100]}")
            status, body = request("POST", "/segment", {"Livepeer-Payment": "", "Livepeer-Segment": "%%"}, b"x" * 100)
            check(status == 403, f"bad segment header: {status} {body[:100]}")
            status, body = request("POST", "/segment", {"Content-Length": "400000000"}, None)
            check(status == 413, f"oversized body refused from its Content-Length: {status}")
            status, _ = request("GET", "/segment")
            check(status == 405, f"GET /segment: {status}")
            check(info["segments"] == "https://" + info["service"], f"one port: {info}")

            # The same port over HTTP/2 (curl with nghttp2, ALPN h2), and gRPC's routing by
            # Content-Type, as go-livepeer's ServeHTTP.
            def curl(version, method, path, headers=(), body=None):
                cmd = ["curl", "-sk", version, "-X", method, "-D", "-", "-o", "/dev/null", "-w",
                       "\n%{http_code} %{http_version}", "--max-time", "20"]
                for h in headers:
                    cmd += ["-H", h]
                if body is not None:
                    cmd += ["--data-binary", "@-"]
                out = subprocess.run(cmd + [f"https://{host}:{port}{path}"], input=body, capture_output=True)
                text = out.stdout.decode(errors="replace")
                status, proto = text.rsplit("\n", 1)[-1].split()
                return int(status), proto, text.lower()

            status, proto, _ = curl("--http2", "GET", "/stream/abcd1234/240p0/0.ts")
            print(f"HTTP/2 request ran over HTTP/{proto}")
            check((status, proto) == (404, "2"), f"h2 unknown rendition: {status} HTTP/{proto}")
            status, proto, _ = curl("--http1.1", "GET", "/stream/abcd1234/240p0/0.ts")
            check((status, proto) == (404, "1.1"), f"http/1.1 unknown rendition: {status} HTTP/{proto}")
            status, proto, _ = curl("--http2", "POST", "/segment", ["Livepeer-Payment: !!", "Livepeer-Segment:"],
                                    b"x" * 100)
            check((status, proto) == (402, "2"), f"h2 bad payment header: {status} HTTP/{proto}")
            status, proto, _ = curl("--http2", "POST", "/segment", ["Livepeer-Segment: %%"], b"x" * 100)
            check((status, proto) == (403, "2"), f"h2 bad segment header: {status} HTTP/{proto}")
            status, proto, _ = curl("--http2", "GET", "/segment")
            check((status, proto) == (405, "2"), f"h2 GET /segment: {status} HTTP/{proto}")
            # (413 over HTTP/2 is not judged by curl: the server answers from the headers and then
            # resets the stream with NO_ERROR, as Go's HTTP/2 server does, and curl 7.88 drops a
            # response followed by such a reset.)
            status, proto, head = curl("--http2", "POST", "/net.Orchestrator/Nope",
                                       ["Content-Type: application/grpc", "TE: trailers"], b"\0\0\0\0\0")
            check(status == 200 and "grpc-status: 12" in head and
                  "grpc-message: unknown method nope for service net.orchestrator" in head,
                  f"gRPC unknown method (grpc-go's code and text): {head[:300]}")
            status, proto, head = curl("--http2", "POST", "/net.Orchestrator/Ping",
                                       ["Content-Type: application/grpc", "TE: trailers"], b"\1\0\0\0\2ab")
            check("grpc-status: 13" in head and "compressed flag" in head, f"gRPC compressed flag: {head[:300]}")
            check(proc.poll() is None, "still running after hostile requests")
        finally:
            rc = stop(proc, 30)
        err = proc.stderr.read()
        check(rc == 0 and "stopped" in err, f"clean stop: exit {rc}: {err[-300:]}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
