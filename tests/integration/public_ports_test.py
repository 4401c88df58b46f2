#!/usr/bin/env python3
"""The public ports of `lpnode orchestrator` (the TLS service port over HTTP/1.1, the admin
port) and `lpnode gateway` (its HTTP port) as a hostile crowd tries them, judged from /proc:

- 1,000 kept-alive connections per port, opened (one request each) and then closed by the
  client: the descriptors (and, without a sanitizer's allocator, the RSS) are back near the
  baseline within 5 s (libsoup 3.2 alone kept each one in CLOSE-WAIT for good);
- a 64 KiB header block gets 431; a /segment body of 100 MB is refused before 1 MB of it is
  sent (without payment: from its headers; with a Content-Length over --max-segment-bytes: 413);
  so is a push to the gateway over 300 MB (413) or under a bad stream name (400);
- --max-connections-per-ip: the connection over the cap is closed at once;
- 500 slow-header clients (a byte every 2 s) on the service and gateway ports for 30 s beside a
  stream pushed through the gateway: every segment answered 200, every slow client closed by
  the 10 s header timeout, descriptors back after.

Usage: public_ports_test.py LPNODE CLIP
"""
import json
import os
import re
import resource
import select
import signal
import socket
import ssl
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
# A sanitizer's allocator keeps freed memory (ASan's quarantine): the RSS is judged without one.
SANITIZED = os.environ.get("LP_SANITIZERS", "none") not in ("", "none")

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE  # the orchestrator's self-signed certificate
CTX.set_alpn_protocols(["http/1.1"])


def usage(pid):
    status = open(f"/proc/{pid}/status").read()
    return (len(os.listdir(f"/proc/{pid}/fd")), int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024,
            int(re.search(r"Threads:\s+(\d+)", status).group(1)))


def connect(port, tls):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return CTX.wrap_socket(s, server_hostname="localhost") if tls else s


def read_response(s):
    """Status of one response on s (its body read by Content-Length), or 0 on EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return 0, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1)) if b"ength:" in head else 0
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(head.split()[1]), head


def request(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return read_response(s)[0]


def churn(name, pid, port, tls, path, expect):
    """1,000 kept-alive connections, each after one request, closed by the client."""
    # The baseline is the warm service: one crowd of 1,000 first, so that what a crowd leaves
    # for reuse is in it (measured: about 8 MB after the first, from the stacks of GLib's
    # thread pool, where TLS handshakes run, and malloc's arenas; the same after each later
    # one); then the next 1,000 must add nothing that stays.
    warm = [connect(port, tls) for _ in range(1000)]
    for s in warm:
        request(s, path)
    for s in warm:
        s.close()
    time.sleep(2)
    base = usage(pid)
    conns = []
    for _ in range(1000):
        s = connect(port, tls)
        conns.append((s, request(s, path), time.time()))
    statuses = {st for _, st, _ in conns}
    check(statuses == {expect}, f"{name}: 1000 requests answered {expect}: {statuses}")
    # Open at the server: every connection not yet idle for its 60 s keep-alive limit (on a
    # loaded machine, opening 1,000 TLS connections can take longer than that).
    fresh = sum(1 for _, _, at in conns if at > time.time() - 55)
    peak = usage(pid)
    check(peak[0] >= base[0] + fresh, f"{name}: {fresh} connections open at once ({base} -> {peak})")
    for s, _, _ in conns:
        s.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        now = usage(pid)
        if now[0] <= base[0] + 2 and (SANITIZED or now[1] <= base[1] * 1.2 + 2):
            break
        time.sleep(0.25)
    print(f"{name}: fds/RSS MB/threads baseline {base}, 1000 open {peak}, closed {now}")
    check(now[0] <= base[0] + 2, f"{name}: descriptors back within 5 s: {base[0]} -> {peak[0]} -> {now[0]}")
    if not SANITIZED:
        check(now[1] <= base[1] * 1.2 + 2, f"{name}: RSS back within 20% in 5 s: {base[1]} -> {peak[1]} -> {now[1]} MB")
    check(now[2] <= base[2] + 2, f"{name}: threads back: {base[2]} -> {now[2]}")


def big_header(name, port, tls):
    s = connect(port, tls)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
    status, _ = read_response(s)
    s.close()
    check(status == 431, f"{name}: a 64 KiB header block: {status}")


def big_body(name, port, length, expect, tls=True, request_line="POST /segment"):
    """Sends a body of `length` bytes (by default to the orchestrator's /segment) at about
    1.6 MB/s through a small send buffer, watching for the answer: what was sent before it is
    at most what the server could have read (it reads nothing past the headers of a refused
    request)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    if tls:
        s = CTX.wrap_socket(s, server_hostname="localhost")
    s.sendall((f"{request_line} HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp2t\r\n"
               f"Content-Length: {length}\r\n\r\n").encode())
    s.setblocking(False)
    chunk = b"\0" * 32768
    sent = 0
    answer = b""
    deadline = time.time() + 60
    while sent < length and time.time() < deadline:
        readable, writable, _ = select.select([s], [s], [], 0.02)
        if readable:
            try:
                answer = s.recv(4096)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                pass
            break
        if writable:
            try:
                sent += s.send(chunk)
            except (ssl.SSLWantWriteError, BlockingIOError):
                pass
            except OSError:
                break
            time.sleep(0.02)
    s.close()
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    print(f"{name}: {status} after {sent} bytes of {length} sent")
    check(status == expect and sent < 1_000_000,
          f"{name}: {length} byte body refused {expect} after {sent} bytes sent: {answer[:120]!r}")


def slow_client(port, tls, outcome, i):
    start = time.time()
    try:
        s = connect(port, tls)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        s.settimeout(2)
        while time.time() - start < 30:
            try:
                if s.recv(1024) == b"":
                    break
            except socket.timeout:
                s.sendall(b"a")
            except OSError:
                break
        outcome[i] = time.time() - start
        s.close()
    except OSError as e:
        outcome[i] = f"error {e}"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        segs = keys_and_ledger(LPNODE, CLIP, 8)
        orch = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                 "--service-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                                 "--price-per-unit", "1", "--speed-preset", "ultrafast", "--gpu", "off"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        capped = subprocess.Popen([LPNODE, "orchestrator", "--key-file", "o.key", "--ledger", "ledger.db",
                                   "--service-addr", "127.0.0.1:0", "--admin-addr", "none",
                                   "--max-segment-bytes", "5000000", "--max-connections-per-ip", "5"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        info = json.loads(orch.stdout.readline())
        capped_info = json.loads(capped.stdout.readline())
        gateway = subprocess.Popen([LPNODE, "gateway", "--orchestrators", info["service"], "--key-file", "g.key",
                                    "--ledger", "ledger.db", "--input", "none", "--http-addr", "127.0.0.1:0",
                                    "--hls-dir", "hls"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            gw_url = json.loads(gateway.stdout.readline())["hls"].rsplit("/hls/", 1)[0]
            svc = int(info["service"].rsplit(":", 1)[1])
            adm = int(info["admin"].rsplit(":", 1)[1])
            gwp = int(gw_url.rsplit(":", 1)[1])

            churn("orchestrator service port (TLS)", orch.pid, svc, True, "/nope", 404)
            churn("orchestrator admin port", orch.pid, adm, False, "/healthz", 200)
            churn("gateway HTTP port", gateway.pid, gwp, False, "/healthz", 200)

            big_header("service port", svc, True)
            big_header("admin port", adm, False)
            big_header("gateway port", gwp, False)
            big_body("over --max-segment-bytes (64 MiB)", svc, 100_000_000, 413)
            big_body("no payment", svc, 60_000_000, 403)
            # The gateway's HTTP push: refused from the request line and headers, unread.
            big_body("gateway push over 300 MB", gwp, 400_000_000, 413, tls=False, request_line="PUT /live/cam/0.ts")
            big_body("gateway push, a bad name", gwp, 100_000_000, 400, tls=False, request_line="PUT /live/.x/0.ts")

            # The connection over the per-address cap is closed at once; the others still work.
            # (A refused body first: its connection must not stay counted.)
            cport = int(capped_info["service"].rsplit(":", 1)[1])
            big_body("over --max-segment-bytes 5000000", cport, 6_000_000, 413)
            time.sleep(1)
            held = [connect(cport, True) for _ in range(5)]
            raw = socket.create_connection(("127.0.0.1", cport), timeout=10)
            raw.sendall(b"\x16\x03\x01\x00\x05hello")  # anything: the server closes before TLS
            try:
                gone = raw.recv(16) == b""
            except ConnectionResetError:
                gone = True
            check(gone, "connection over --max-connections-per-ip closed at once")
            raw.close()
            check(request(held[0], "/nope") == 404, "connections under the cap still served")
            for s in held:
                s.close()

            # 500 slow-header clients beside a pushed stream. The stream's first segment comes
            # first: the baseline holds its session, pipelines and threads (freed when it ends).
            def push(i):
                req = urllib.request.Request(f"{gw_url}/live/cam/{i}.ts", data=open(segs[i], "rb").read(),
                                             method="PUT")
                try:
                    return urllib.request.urlopen(req, timeout=120).status
                except Exception as e:  # noqa: BLE001 - the status is what is judged
                    return str(e)

            pushed = [push(0)]
            time.sleep(1)
            base_o, base_g = usage(orch.pid), usage(gateway.pid)
            outcome = [None] * 500
            threads = [threading.Thread(target=slow_client, args=(svc if i % 2 else gwp, bool(i % 2), outcome, i))
                       for i in range(500)]
            for t in threads:
                t.start()
            time.sleep(3)
            pushed += [push(i) for i in range(1, len(segs))]
            for t in threads:
                t.join()
            check(pushed == [200] * len(segs), f"every pushed segment answered 200 beside the slow clients: {pushed}")
            closed = [o for o in outcome if isinstance(o, float)]
            check(len(closed) == 500 and all(8 <= o < 25 for o in closed),
                  f"every slow client closed by the header timeout (10 s): "
                  f"{sorted(set(round(o) if isinstance(o, float) else o for o in outcome), key=str)[:10]}")
            time.sleep(2)
            after_o, after_g = usage(orch.pid), usage(gateway.pid)
            print(f"slow clients: orchestrator {base_o} -> {after_o}, gateway {base_g} -> {after_g}")
            check(after_o[0] <= base_o[0] + 2 and after_g[0] <= base_g[0] + 2,
                  f"descriptors back after the slow clients: {base_o} -> {after_o}, {base_g} -> {after_g}")
            if not SANITIZED:
                check(after_o[1] <= base_o[1] * 1.2 + 2, f"orchestrator RSS back: {base_o} -> {after_o}")

            # Health that does not lie: the ledger file gone makes both /healthz 503 at once.
            def healthz(url):
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                        return r.status, r.read().decode()
                except urllib.error.HTTPError as e:
                    return e.code, e.read().decode()

            check(healthz(gw_url) == (200, "ok\n") and healthz(info["admin"]) == (200, "ok\n"), "healthy")
            os.rename("ledger.db", "ledger.moved")
            time.sleep(0.5)
            for name, url in (("gateway", gw_url), ("orchestrator", info["admin"])):
                status, text = healthz(url)
                check(status == 503 and "ledger.db is gone" in text, f"{name} /healthz without its ledger: {status} {text!r}")
            os.rename("ledger.moved", "ledger.db")
            check(healthz(gw_url)[0] == 200 and healthz(info["admin"])[0] == 200, "healthy again with the ledger back")
        finally:
            for p in (gateway, orch, capped):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in (gateway, orch, capped):
                stop(p, 30)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
