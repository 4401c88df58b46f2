#!/usr/bin/env python3
"""What an operator gets wrong, and what lpnode answers: one clear line on stderr and a non-zero
exit, never a GLib critical or a library's log dump. A ladder profile with a typo, a missing key
file, a port in use (gRPC, HTTPS, admin, gateway HTTP), an orchestrator list that nobody answers,
a config file with an unknown setting, pipeline profiles with an unknown element, property,
placeholder or value (each named with file:line); and flags from LP_ variables and a --config file do
apply, the command line winning.

Usage: node_errors_test.py LPNODE SOURCE_ROOT
"""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

LPNODE = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])


def run(args, env=None, timeout=60):
    e = dict(os.environ)
    e.pop("LP_ADMIN_ADDR", None)
    e.update(env or {})
    return subprocess.run([LPNODE] + args, capture_output=True, text=True, timeout=timeout, env=e)


def one_clear_line(r, what, *words):
    """Non-zero exit, a single stderr line starting with "lpnode", containing every word."""
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    ok = (r.returncode != 0 and len(lines) == 1 and lines[0].startswith("lpnode ")
          and all(w in lines[0] for w in words) and "CRITICAL" not in r.stderr)
    check(ok, f"{what}: exit {r.returncode}, stderr {r.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        run(["pm", "keygen", "--key-file", "g.key"])
        run(["pm", "keygen", "--key-file", "o.key"])
        gw = run(["pm", "address", "--key-file", "g.key"]).stdout.strip()
        run(["ledger", "--db", "l.db", "fund", "--address", gw, "--deposit", "1000000", "--reserve", "1000000"])
        gateway = ["gateway", "--key-file", "g.key", "--ledger", "l.db", "--input", "none"]
        orchestrator = ["orchestrator", "--key-file", "o.key", "--ledger", "l.db", "--service-addr", "127.0.0.1:0",
                        "--admin-addr", "none"]

        # A typo in the ladder, on the command line, from LP_PROFILES, and in a config file.
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--profiles", "P240p30fps16x8"]),
                       "profile typo", "--profiles", "P240p30fps16x8")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1"], env={"LP_PROFILES": "P360p30fps16x0"}),
                       "profile typo from LP_PROFILES", "P360p30fps16x0")
        with open("bad.conf", "w") as f:
            f.write("# gateway settings\nprofiles P240p30fps16x9\nmax-in-flite 3\n")
        one_clear_line(run(gateway + ["--config", "bad.conf"]), "unknown setting in a config file",
                       "bad.conf:3", "max-in-flite")
        with open("typo.conf", "w") as f:
            f.write("orchestrators 127.0.0.1:1\nprofiles P720p30fps16x7\n")
        one_clear_line(run(gateway + ["--config", "typo.conf"]), "profile typo in a config file", "P720p30fps16x7")
        # ...and the command line wins over the file: the good profile passes the ladder check
        # and the run gets as far as the orchestrators.
        one_clear_line(run(gateway + ["--config", "typo.conf", "--profiles", "P240p30fps16x9"]),
                       "the command line wins over --config", "no orchestrator can be reached")

        # Pipeline profiles (pipelines/*.gst) with mistakes: each named with its file and line,
        # before any network or media work.
        gw_profile = open(os.path.join(SOURCE, "pipelines", "gateway.gst")).read()

        def profile_with(name, old, new):
            text = gw_profile.replace(old, new, 1)
            check(text != gw_profile, f"{name}: the profile has {old!r}")
            with open(name, "w") as f:
                f.write(text)
            return text[:text.index(new)].count("\n") + 1

        line = profile_with("p1.gst", "  ! lpverify sample", "  ! lpverfy sample")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "./p1.gst"]),
                       "profile: unknown element", f"p1.gst:{line}:", "lpverfy")
        line = profile_with("p2.gst", "playlist-length=", "playlist-lenght=")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "./p2.gst"]),
                       "profile: unknown property", f"p2.gst:{line}:", "playlist-lenght", "lphlssink")
        line = profile_with("p3.gst", "max-in-flight=${max-in-flight}", "max-in-flight=lots")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "./p3.gst"]),
                       "profile: a value of the wrong type", f"p3.gst:{line}:", "lots")
        line = profile_with("p4.gst", "location=${hls-dir}", "location=${hls-folder}")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "./p4.gst"]),
                       "profile: unknown placeholder", f"p4.gst:{line}:", "${hls-folder}")
        profile_with("p5.gst", "  ! lphlssink", "  ! lphlssink location=\"unterminated")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "./p5.gst"]),
                       "profile: a broken quote", "p5.gst:")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "orchestrator-cpu"]),
                       "gateway with an orchestrator profile", "starts with lpsegmenter")
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1", "--pipeline", "nosuchprofile"]),
                       "profile not found", "nosuchprofile")
        with open("o.gst", "w") as f:
            f.write(open(os.path.join(SOURCE, "pipelines", "orchestrator-cpu.gst")).read().replace("gpu=off", "gpu=maybe"))
        one_clear_line(run(orchestrator + ["--pipeline", "./o.gst"]), "orchestrator profile: a bad enum value",
                       "o.gst:", "maybe", "gpu")

        # A missing key file.
        one_clear_line(run(["orchestrator", "--key-file", "missing.key", "--ledger", "l.db"]),
                       "orchestrator: missing key file", "missing.key")
        one_clear_line(run(["gateway", "--key-file", "missing.key", "--ledger", "l.db", "--orchestrators", "127.0.0.1:1"]),
                       "gateway: missing key file", "missing.key")
        one_clear_line(run(["gateway", "--key-file", "g.key", "--ledger", "nowhere.db", "--orchestrators", "127.0.0.1:1"]),
                       "gateway: missing ledger", "nowhere.db")

        # An orchestrator list nobody answers.
        one_clear_line(run(gateway + ["--orchestrators", "127.0.0.1:1,127.0.0.1:2"]), "unreachable orchestrators",
                       "no orchestrator can be reached", "127.0.0.1:1", "127.0.0.1:2")

        # Ports in use.
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        addr = f"127.0.0.1:{port}"
        one_clear_line(run(["orchestrator", "--key-file", "o.key", "--ledger", "l.db", "--service-addr", addr,
                            "--admin-addr", "none"]), "service port in use", addr, "in use")
        one_clear_line(run(orchestrator + ["--http-addr", addr]), "second HTTPS port in use", "--http-addr", addr,
                       "in use")
        one_clear_line(run(["orchestrator", "--key-file", "o.key", "--ledger", "l.db", "--service-addr", "127.0.0.1:0",
                            "--admin-addr", addr]), "admin port in use", "--admin-addr", addr, "in use")
        one_clear_line(run(gateway + ["--orchestrators", addr, "--http-addr", addr]), "gateway HTTP port in use",
                       "--http-addr", addr, "in use")
        busy.close()

        # The demo with a clip that is not there.
        one_clear_line(run(["demo", "--dir", "d", "--clip", "nope.ts"]), "demo: missing clip", "nope.ts")
        # Unknown flags name themselves.
        one_clear_line(run(["orchestrator", "--price", "3"]), "unknown flag", "--price")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
