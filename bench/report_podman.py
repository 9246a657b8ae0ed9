"""bench/report_podman.py: the Podman 4.3 and Podman 5 sections of the page.

Theory of operation. bench/podman_measure.sh and bench/podman5_measure.sh
leave RESULTS/raw/TOOL/run_ms.txt (one `podman run --rm` per line, in
milliseconds; run.err when a run failed) and LINE.rN.json (iperf3 -J) per
round N, with .err beside a failed one and start.err / br_start.err when a
container never came up. collect() makes Stats (the runs are the samples of
the run line); section4() and section5() write the Markdown.
"""
import os

from report_lib import Notes, Stat, fmt_ratio, md_table, ratio, read_text, rounds_of, short_version, stat_of, table_text
from report_tap import load_round

PODMAN4 = {
    "tools": ["netd", "slirp4netns"],
    "pair": ("netd", "slirp4netns"),
    "metrics": [
        ("run", "`podman run --rm --network slirp4netns` (start to exit), ms", False),
        ("c2w", "TCP container -> world, Gbit/s", True),
        ("w2c", "TCP world -> container, Gbit/s", True),
        ("h2c", "TCP host 127.0.0.1 -> published port (port_handler=slirp4netns), Gbit/s", True),
        ("br_c2w", "TCP bridge-network container -> world (rootless netns), Gbit/s", True),
    ],
}
PODMAN5 = {
    "tools": ["netd", "debian"],
    "pair": ("netd", "debian"),
    "metrics": [
        ("run", "`podman run --rm` on the default pasta network (start to exit), ms", False),
        ("c2h", "TCP container -> host 127.0.0.1 (gateway, --map-gw), Gbit/s", True),
        ("h2c", "TCP host 127.0.0.1 -> published port (-p 15201:5201), Gbit/s", True),
    ],
}


def runs(d):
    text = read_text(os.path.join(d, "run_ms.txt"))
    ms = [int(x) for x in text.split()] if text else []
    if ms:
        return Stat(ms)
    return read_text(os.path.join(d, "run.err")) or read_text(os.path.join(d, "start.err")) or "not measured"


def collect(sdir, spec):
    raw = os.path.join(sdir, "raw")
    tools = [t for t in spec["tools"] if os.path.isdir(os.path.join(raw, t))]
    vals = {}
    for t in tools:
        d = os.path.join(raw, t)
        for metric, _lab, _hib in spec["metrics"]:
            if metric == "run":
                vals[(t, metric)] = runs(d)
                continue
            start = read_text(os.path.join(d, "br_start.err" if metric.startswith("br_") else "start.err"))
            if start is not None:
                vals[(t, metric)] = start or "did not start"
            else:
                vals[(t, metric)] = stat_of([load_round(r, "tcp") for r in rounds_of(d, metric)])
    return {"tools": tools, "vals": vals, "spec": spec}


def rows(data, notes):
    spec, tools = data["spec"], data["tools"]
    a, b = spec["pair"]
    header = ["metric"] + tools + ([f"{a}/{b}"] if a in tools and b in tools else [])
    out = []
    for metric, lab, _hib in spec["metrics"]:
        fmt = (lambda v: f"{v:.0f}") if metric == "run" else (lambda v: f"{v:.2f}")
        cells = [lab] + [notes.cell(t, data["vals"][(t, metric)], fmt) for t in tools]
        if len(header) > len(tools) + 1:
            cells.append(fmt_ratio(ratio(data["vals"][(a, metric)], data["vals"][(b, metric)])))
        out.append(cells)
    return header, out


def section4(data, facts):
    notes = Notes()
    header, table = rows(data, notes)
    lines = [
        f"## Podman {short_version(facts.get('podman4'))}: netd next to slirp4netns as podman's network helper",
        "",
        "Debian 12's podman, rootless (as tests/integration/test_podman.sh sets it up), with containers.conf "
        "`network_cmd_path` naming netd (a symlink named slirp4netns) or Debian's slirp4netns. The `podman "
        f"run`s take turns ({facts.get('runs', '?')} per tool after a warm-up each, order rotated every run); "
        "for the iperf3 lines both tools' containers stand side by side and take turns, order rotated every "
        f"round, {facts.get('rounds', '?')} round(s) of iperf3 -t {facts.get('duration', '?')}; the bridge "
        "line gives each tool a fresh network per round (the rootless netns has one helper). Cells: median "
        "(lowest-highest). For `podman run` lower is better; for throughput higher. The world is a namespace "
        "at 198.51.100.10 behind a veth.",
        "",
        md_table(header, table),
        "",
    ]
    lines += notes.md()
    lines += [
        "podman passes both the same options. The published-port line uses `port_handler=slirp4netns`, so "
        "the tool itself forwards the port (the default, rootlessport, would not involve it). netd is the "
        "aardvark-dns of both bridge runs; only the rootless netns' outward helper differs. That netns' tap "
        "has the bridge's MTU: a tap with virtio-net headers, as netd opens it, takes the container's TCP "
        "segments whole, one without, as slirp4netns opens it, gets them cut to that MTU first.",
        "",
    ]
    return lines


def section5(data, facts):
    notes = Notes()
    header, table = rows(data, notes)
    lines = [
        f"## Podman {short_version(facts.get('podman5'))}: netd next to Debian 13's pasta as podman's pasta",
        "",
        "Debian 13's Podman 5, rootless from the Debian 13 root (as tests/integration/test_podman5.sh sets it "
        "up), with containers.conf `helper_binaries_dir` giving podman netd as its pasta (a symlink named "
        f"pasta) or Debian 13's own pasta ({short_version(facts.get('pasta13'))}). The `podman run`s take turns "
        f"({facts.get('runs', '?')} per tool after a warm-up each, order rotated every run); the iperf3 lines "
        f"use a fresh container per tool and round, {facts.get('rounds', '?')} round(s) of iperf3 -t "
        f"{facts.get('duration', '?')}, order rotated every round. Cells: median (lowest-highest); \"debian\" "
        "is Debian 13's pasta.",
        "",
        md_table(header, table),
        "",
    ]
    lines += notes.md()
    return lines


def text(data):
    return table_text(rows, data)
