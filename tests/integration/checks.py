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
