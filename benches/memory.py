#!/usr/bin/env python3
"""Start-up time, idle RSS and peak RSS under the db test, for each server.

Usage: memory.py [--runs N] name=command ...  (each command execs the server binary,
listening on $PORT; the database must be ready). For each server and run: start it,
time until /plaintext first answers 200, read its RSS after 2 s idle, run wrk on /db
(256 connections, 8 s), read its peak RSS (VmHWM), stop it. Prints a Markdown table of
the medians.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

PORT = 18200


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def answers(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = s.recv(64)
        s.close()
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def measure(command):
    env = dict(os.environ, PORT=str(PORT))
    t0 = time.monotonic()
    p = subprocess.Popen(["bash", "-c", command], env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not answers(PORT):
            if p.poll() is not None:
                raise RuntimeError(f"exited with {p.returncode}: {command}")
            if time.monotonic() - t0 > 60:
                raise RuntimeError(f"no answer in 60 s: {command}")
            time.sleep(0.005)
        startup = (time.monotonic() - t0) * 1000
        time.sleep(2)
        idle = rss_kb(p.pid, "VmRSS")
        subprocess.run(["wrk", "-t2", "-c256", "-d8s", f"http://127.0.0.1:{PORT}/db"],
                       check=True, capture_output=True)
        peak = rss_kb(p.pid, "VmHWM")
        return startup, idle, peak
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main(argv):
    runs = 3
    if argv[:1] == ["--runs"]:
        runs, argv = int(argv[1]), argv[2:]
    entries = [a.split("=", 1) for a in argv]
    results = {name: [] for name, _ in entries}
    for _ in range(runs):
        for name, command in entries:
            results[name].append(measure(command))
    print(f"| server | start-up to first response (ms) | idle RSS (MiB) | peak RSS under /db (MiB) |")
    print("|---|---:|---:|---:|")
    for name, rs in results.items():
        s = statistics.median(r[0] for r in rs)
        i = statistics.median(r[1] for r in rs) / 1024
        k = statistics.median(r[2] for r in rs) / 1024
        print(f"| {name} | {s:.0f} | {i:.1f} | {k:.1f} |")
    print(f"\nMedians of {runs} runs (benches/memory.py).")


if __name__ == "__main__":
    main(sys.argv[1:])
