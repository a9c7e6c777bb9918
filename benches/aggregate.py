#!/usr/bin/env python3
"""Medians over repeated ../shared/bench runs -> Markdown (benches/RESULTS.md).

Usage: aggregate.py [--machine TEXT] run-1.json run-2.json ...
Each file is a harness results.json. Reports per test and server: median req/s,
ratio to axum and to actix (the median of the ratios paired within each run, with
their range: machine drift between runs cancels out of a paired ratio), median p99, and server CPU-seconds per
10k requests (CPU share x duration / requests: less sensitive to the machine's noise
than throughput), with the spread of req/s over the runs.
"""
import json
import statistics
import sys
from collections import defaultdict

ORDER = ["plaintext", "json", "db", "queries", "fortunes", "updates", "cached-queries"]


def ms(text):
    if not text or text == "n/a":
        return None
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for unit in ("us", "ms", "s"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return None


def main(argv):
    machine = ""
    if argv[:1] == ["--machine"]:
        machine, argv = argv[1], argv[2:]
    runs = [json.load(open(p)) for p in argv]
    per_run = [
        {tuple(key.split("/", 1)): r["rps"] for key, r in run["results"].items()}
        for run in runs
    ]
    cells = defaultdict(list)
    verify = {}
    servers = []
    for run in runs:
        for key, r in run["results"].items():
            test, server = key.split("/", 1)
            if server not in servers:
                servers.append(server)
            cells[(test, server)].append(r)
        for key, v in run.get("verify", {}).items():
            test, server = key.split("/", 1)
            verify.setdefault((test, server), set()).add(v.get("status"))
    tests = [t for t in ORDER if any(k[0] == t for k in cells)]
    med = {}
    for k, rs in cells.items():
        rps = [r["rps"] for r in rs]
        p99 = [x for x in (ms(r.get("p99")) for r in rs) if x is not None]
        cpu = [r["cpu"]["server"] / 100.0 / r["rps"] * 10_000 for r in rs if r["rps"]]
        med[k] = {
            "rps": statistics.median(rps),
            "min": min(rps),
            "max": max(rps),
            "p99": statistics.median(p99) if p99 else None,
            "cpu10k": statistics.median(cpu) if cpu else None,
            "n": len(rs),
        }
    out = []
    out.append("# TechEmpower-style results\n")
    out.append(
        f"Produced by `benches/tfb.sh`: {len(runs)} runs of `../shared/bench/run.sh` "
        "with the axum, actix and hyper peers and Keel side by side in each run; numbers "
        "are medians over the runs."
        + (f" Machine: {machine}; the load generator, the servers and PostgreSQL share it." if machine else "")
        + "\n"
    )
    out.append(
        "- **keel**: `examples/tfb` as configured (request ids, per-request tracing, metrics "
        "and security headers off; see `examples/tfb/README.md`).\n"
        "- **keel-default**: the same binary with every default layer on.\n"
    )
    out.append("## Requests per second (median)\n")
    out.append("| test | " + " | ".join(servers) + " |")
    out.append("|---|" + "---:|" * len(servers))
    for t in tests:
        row = [f"{med[(t, s)]['rps']:,.0f}" if (t, s) in med else "—" for s in servers]
        out.append(f"| {t} | " + " | ".join(row) + " |")
    for ref in ("axum", "actix"):
        if ref not in servers:
            continue
        out.append(
            f"\n## Ratio to {ref}\n\nMedian of the ratios paired within each run "
            "(min–max over the runs).\n"
        )
        out.append("| test | " + " | ".join(servers) + " |")
        out.append("|---|" + "---:|" * len(servers))
        for t in tests:
            row = []
            for s in servers:
                ratios = [
                    r[(t, s)] / r[(t, ref)]
                    for r in per_run
                    if r.get((t, s)) and r.get((t, ref))
                ]
                if not ratios:
                    row.append("—")
                elif len(ratios) == 1:
                    row.append(f"{ratios[0]:.2f}")
                else:
                    row.append(
                        f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
                    )
            out.append(f"| {t} | " + " | ".join(row) + " |")
    out.append("\n## Per cell\n")
    out.append("req/s spread is min–max over the runs. CPU is the server's CPU-seconds per 10k requests (median).\n")
    out.append("| test | server | median req/s | min–max | p99 ms | CPU s / 10k req | verify |")
    out.append("|---|---|---:|---|---:|---:|---|")
    for t in tests:
        for s in servers:
            m = med.get((t, s))
            if not m:
                continue
            p99 = f"{m['p99']:.2f}" if m["p99"] is not None else "n/a"
            cpu = f"{m['cpu10k']:.3f}" if m["cpu10k"] is not None else "n/a"
            v = "/".join(sorted(x for x in verify.get((t, s), {"?"}) if x))
            out.append(
                f"| {t} | {s} | {m['rps']:,.0f} | {m['min']:,.0f}–{m['max']:,.0f} | {p99} | {cpu} | {v} |"
            )
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
