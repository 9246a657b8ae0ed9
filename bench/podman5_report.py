#!/usr/bin/python3
"""bench/podman5_report.py: the table of one bench/podman5.sh results directory.

Theory of operation. bench/podman5_measure.sh leaves RESULTS/raw/TOOL/
run_ms.txt (one `podman run --rm` per line, milliseconds; run.err when a run
failed) and {c2h,h2c}.rN.json (iperf3 -J) per round N, with .err beside a
failed one and start.err when the tool could not run. TOOL is "netd" (netd
as Podman 5's pasta) or "debian" (Debian 13's pasta). The median counts
(runs and rounds). This prints one row per metric with each tool's number and
the netd/debian ratio, as a text table and as Markdown (docs/benchmarks.md is
not written: paste the Markdown where it belongs). Row building is
bench/podman_report.py's.

Usage: podman5_report.py RESULTS
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from podman_report import build_table  # noqa: E402
from report import md_table, read_facts, text_table  # noqa: E402

TOOLS = ["netd", "debian"]
# metric, label, higher is better
METRICS = [
    ("run", "`podman run --rm` on the default pasta network (start to exit), ms", False),
    ("c2h", "TCP container -> host 127.0.0.1 (gateway, --map-gw), Gbit/s", True),
    ("h2c", "TCP host 127.0.0.1 -> published port (-p 15201:5201), Gbit/s", True),
]


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__.strip().splitlines()[-1])
    results = sys.argv[1]
    facts = read_facts(results)
    tools = [t for t in TOOLS if t in facts.get("tools", " ".join(TOOLS)).split()]
    header, rows, notes = build_table(results, tools, METRICS, ("netd", "debian"))
    print(text_table(header, rows))
    print()
    print(f"Podman {facts.get('podman', '?')} (Debian 13), passt {facts.get('passt', '?')}; "
          f"netd {facts.get('netd', '?')}; iperf3 -t {facts.get('duration', '?')}, one TCP stream, "
          f"{facts.get('rounds', '1')} round(s), {facts.get('runs', '?')} runs; medians; "
          f"{facts.get('cpus', '?')} CPUs, load {facts.get('load', '?')} -> {facts.get('load_end', '?')}")
    print()
    print(md_table(header, rows))
    for i, n in enumerate(notes, 1):
        print(f"[{i}] {n}")


if __name__ == "__main__":
    main()
