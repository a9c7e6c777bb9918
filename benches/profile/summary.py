#!/usr/bin/env python3
"""Per-request costs from one callgrind dump of a whole server.

    summary.py DUMP REQUESTS NAME [TOP]

Prints a Markdown row of the events per request (instructions, and L1 misses when the
dump was taken with --cache-sim=yes), then the TOP functions by instructions and, with
cache simulation, by L1 instruction and data read misses, each per request.
"""
import re
import subprocess
import sys

ROW = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def annotate(dump, event):
    """(total, [(cost, function)]) of `event`, self cost, highest first."""
    out = subprocess.run(
        ["callgrind_annotate", "--auto=no", "--inclusive=no", "--threshold=100",
         f"--sort={event}", f"--show={event}", dump],
        capture_output=True, text=True, check=True).stdout
    total, rows = 0, []
    for line in out.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        cost, what = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in what:
            total = cost
        else:
            rows.append((cost, what))
    # Thread start-up frames are charged the whole run when the dump is taken in the
    # middle of it; they are nobody's own work.
    rows = [(c, w) for c, w in rows if total == 0 or c < total / 2]
    return total, rows


def short(what):
    what = re.sub(r"\s*\[[^\]]*\]$", "", what)
    what = re.sub(r"^[^:]*:", "", what, count=1) if what.startswith("???") else what
    return what[:120]


def main():
    dump, n, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    header = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", dump],
                            capture_output=True, text=True, check=True).stdout
    events = re.search(r"Events recorded:\s+(.*)", header).group(1).split()
    wanted = [e for e in ("Ir", "I1mr", "D1mr", "D1mw") if e in events]
    tables = {e: annotate(dump, e) for e in wanted}
    cells = " | ".join(f"{tables[e][0] // n:,}" for e in wanted)
    print(f"ROW | {name} | {cells} |")
    for e in wanted:
        if e == "D1mw":
            continue
        print(f"\n{name}: top functions by {e} per request\n")
        for cost, what in tables[e][1][:top]:
            print(f"    {cost / n:>10,.1f}  {short(what)}")


if __name__ == "__main__":
    main()
