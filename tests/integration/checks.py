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
