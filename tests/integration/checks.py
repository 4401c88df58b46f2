"""Counting checks for the Python integration tests: each failed check prints a line, and
finish() prints "N checks, M failed" and gives the exit status."""

checks = 0
failures = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, flush=True)
    return cond


def finish():
    print(f"{checks} checks, {failures} failed")
    return 1 if failures else 0


def stop(proc, timeout):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds; the exit status, or
    None when it had to be killed."""
    import signal
    import subprocess
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def keys_and_ledger(lpnode, clip=None, seconds=None):
    """In the current directory: o.key (an orchestrator), g.key (a gateway funded with 1 ETH of
    deposit and 1 ETH of reserve in ledger.db) and, with a clip, its first `seconds` (all
    when None) cut by ffmpeg into 2 s segments seg0.ts, seg1.ts...; returns the segments'
    names in order."""
    import os
    import subprocess
    subprocess.run([lpnode, "pm", "keygen", "--key-file", "o.key"], check=True, capture_output=True)
    gw = subprocess.run([lpnode, "pm", "keygen", "--key-file", "g.key"], check=True, capture_output=True,
                        text=True).stdout.split()[0]
    subprocess.run([lpnode, "ledger", "--db", "ledger.db", "fund", "--address", gw, "--deposit",
                    "1000000000000000000", "--reserve", "1000000000000000000"], check=True, capture_output=True)
    if not clip:
        return []
    limit = ["-t", str(seconds)] if seconds else []
    subprocess.run(["ffmpeg", "-v", "error", "-i", clip, *limit, "-c", "copy", "-f", "segment", "-segment_time", "2",
                    "-reset_timestamps", "0", "seg%d.ts"], check=True)
    return sorted((f for f in os.listdir(".") if f.startswith("seg")), key=lambda f: int(f[3:-3]))


def put(url, data, timeout, headers=None):
    """PUT `data`; the answer's status, or the transport error's text."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=data, method="PUT", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError as e:
        return str(e)
