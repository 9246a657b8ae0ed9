#!/usr/bin/python3
"""bench/report.py: turns one bench/run.sh results directory into a table.

Theory of operation. bench/measure.sh leaves RESULTS/raw/TOOL/METRIC.rN.json
(iperf3 -J output, or one netd-bench-rr JSON line) per round N, with .err
beside it when a measurement failed (METRIC.err: the tool never started);
the median round counts; RESULTS/facts.txt holds key=value lines
about the machine and the tool versions. This script reads them into
{metric: {tool: value or reason}}, prints the table with absolute numbers and
netd/peer ratios, and optionally writes the Markdown report (--md) and a bar
chart (--png, matplotlib). A failed measurement is "n/a" with its reason in a
footnote; it never makes this script fail. METRIC.rN.cpu (the tool's CPU
seconds during that line) gives a second table: each tool's CPU per unit of
work (per GB carried, per round trip, per connection), which a loaded machine
disturbs less than the rates themselves.

Usage: report.py RESULTS [--md FILE] [--png FILE]
"""
import argparse
import glob
import json
import os
import re
import sys

TOOLS = ["loopback", "netd", "slirp4netns", "pasta", "pasta-new"]
PEERS = ["slirp4netns", "pasta", "pasta-new", "loopback"]

# metric id, label, unit, higher_is_better, raw file, extractor name
METRICS = [
    ("tcp_c2h_65520", "TCP container->host, MTU 65520", "Gbit/s", True, "tcp_c2h_65520", "iperf_tcp"),
    ("tcp_h2c_65520", "TCP host->container, MTU 65520", "Gbit/s", True, "tcp_h2c_65520", "iperf_tcp"),
    ("tcp6_c2h_65520", "TCP over IPv6 container->host ::1, MTU 65520", "Gbit/s", True, "tcp6_c2h_65520", "iperf_tcp"),
    ("tcp6_h2c_65520", "TCP over IPv6 host ::1->container, MTU 65520", "Gbit/s", True, "tcp6_h2c_65520", "iperf_tcp"),
    ("tcp_c2h_1500", "TCP container->host, MTU 1500", "Gbit/s", True, "tcp_c2h_1500", "iperf_tcp"),
    ("tcp_h2c_1500", "TCP host->container, MTU 1500", "Gbit/s", True, "tcp_h2c_1500", "iperf_tcp"),
    ("udp_c2h_65520", "UDP container->host, 1400 B, received", "Gbit/s", True, "udp_c2h_65520", "iperf_udp"),
    ("tcp_rr_p50", "TCP request/response 64 B, p50", "us", False, "tcp_rr", "p50"),
    ("tcp_rr_p99", "TCP request/response 64 B, p99", "us", False, "tcp_rr", "p99"),
    ("udp_rr_p50", "UDP request/response 64 B, p50", "us", False, "udp_rr", "p50"),
    ("udp_rr_p99", "UDP request/response 64 B, p99", "us", False, "udp_rr", "p99"),
    ("tcp_crr", "TCP connect+request+close", "conn/s", True, "tcp_crr", "cps"),
]


# CPU per unit of work: raw file, label, unit, and how to get the work done
# (GB received, round trips, connections) from the same round's result.
CPU_LINES = [
    ("tcp_c2h_65520", "TCP container->host, MTU 65520", "ms/GB", "gb"),
    ("tcp_h2c_65520", "TCP host->container, MTU 65520", "ms/GB", "gb"),
    ("tcp6_c2h_65520", "TCP over IPv6 container->host, MTU 65520", "ms/GB", "gb"),
    ("tcp6_h2c_65520", "TCP over IPv6 host->container, MTU 65520", "ms/GB", "gb"),
    ("tcp_c2h_1500", "TCP container->host, MTU 1500", "ms/GB", "gb"),
    ("tcp_h2c_1500", "TCP host->container, MTU 1500", "ms/GB", "gb"),
    ("udp_c2h_65520", "UDP container->host, 1400 B (per GB received)", "ms/GB", "gb"),
    ("tcp_rr", "TCP request/response 64 B", "us/round trip", "n"),
    ("udp_rr", "UDP request/response 64 B", "us/round trip", "n"),
    ("tcp_crr", "TCP connect+request+close", "us/conn", "n"),
]


def cpu_per_work(base, work):
    """The tool's CPU per unit of work for one round (BASE.json + BASE.cpu), or None."""
    try:
        cpu = float(open(base + ".cpu", encoding="utf-8").read())
        with open(base + ".json", encoding="utf-8") as f:
            data = json.load(f)
        if work == "gb":
            done = data["end"].get("sum_received", data["end"].get("sum"))["bytes"] / 1e9
            return cpu * 1e3 / done if done > 0 else None
        done = data["n"]
        return cpu * 1e6 / done if done > 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_cpu(results, tools):
    """{raw: {tool: median CPU per unit of work}} for the tools that ran as a process."""
    table = {}
    for raw, _label, _unit, work in CPU_LINES:
        row = {}
        for tool in tools:
            rounds = sorted(glob.glob(os.path.join(results, "raw", tool, raw + ".r*.cpu")))
            got = sorted(v for v in (cpu_per_work(r[: -len(".cpu")], work) for r in rounds) if v is not None)
            if got:
                row[tool] = got[(len(got) - 1) // 2]
        if row:
            table[raw] = row
    return table


def build_cpu_rows(cpu, tools):
    """Header and rows of the CPU table (tools without a process, like loopback, are left out)."""
    tools = [t for t in tools if any(t in r for r in cpu.values())]
    peers = [p for p in PEERS if p in tools and p != "netd"]
    header = ["line", "unit"] + tools + [f"netd/{p}" for p in peers]
    rows = []
    for raw, label, unit, _work in CPU_LINES:
        if raw not in cpu:
            continue
        row = cpu[raw]
        cells = [label, "CPU " + unit] + [f"{row[t]:.1f}" if t in row else "n/a" for t in tools]
        for p in peers:
            cells.append(f"{row['netd'] / row[p]:.2f}x" if "netd" in row and row.get(p) else "n/a")
        rows.append(cells)
    return header, rows


def read_facts(results):
    facts = {}
    path = os.path.join(results, "facts.txt")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                facts[k] = v
    return facts


def extract(kind, data):
    """Returns (value, note) from one parsed raw result; raises KeyError/ValueError if absent."""
    if "error" in data:
        raise ValueError(data["error"])
    if kind == "iperf_tcp":
        end = data["end"]
        retr = end.get("sum_sent", {}).get("retransmits")
        return end["sum_received"]["bits_per_second"] / 1e9, (f"{retr} retr" if retr else "")
    if kind == "iperf_udp":
        end = data["end"]
        rx = end.get("sum_received", end["sum"])["bits_per_second"] / 1e9
        return rx, f"{end['sum'].get('lost_percent', 0):.0f}% lost"
    if kind == "p50":
        return data["p50_us"], ""
    if kind == "p99":
        return data["p99_us"], ""
    if kind == "cps":
        return data["cps"], ""
    raise KeyError(kind)


def load_one(base, kind):
    """(value, note) from BASE.json, or a reason string from BASE.err."""
    if os.path.exists(base + ".err"):
        return open(base + ".err", encoding="utf-8").read().strip() or "failed"
    try:
        with open(base + ".json", encoding="utf-8") as f:
            return extract(kind, json.load(f))
    except FileNotFoundError:
        return "not measured"
    except (ValueError, KeyError, TypeError) as e:
        return str(e) or "unreadable result"


def load(results, tools):
    """{metric_id: {tool: (value, note) or str reason}}: the median round of
    each line (the lower middle one for an even count); a reason only when
    no round succeeded."""
    table = {}
    for mid, _label, _unit, _hib, raw, kind in METRICS:
        row = {}
        for tool in tools:
            d = os.path.join(results, "raw", tool)
            if os.path.exists(os.path.join(d, raw + ".err")):  # the tool never started
                row[tool] = load_one(os.path.join(d, raw), kind)
                continue
            rounds = sorted(glob.glob(os.path.join(d, raw + ".r*.json")))
            got = [load_one(r[: -len(".json")], kind) for r in rounds]
            ok = sorted((g for g in got if isinstance(g, tuple)), key=lambda g: g[0])
            if ok:
                row[tool] = ok[(len(ok) - 1) // 2]
            else:
                row[tool] = got[0] if got else "not measured"
        table[mid] = row
    return table


def fmt(v, unit):
    if unit == "Gbit/s":
        return f"{v:.2f}"
    if unit == "us":
        return f"{v:.1f}"
    return f"{v:.0f}"


def build_rows(table, tools):
    """Header and rows of strings, plus footnotes for n/a cells."""
    peers = [p for p in PEERS if p in tools and p != "netd"]
    header = ["metric", "unit", "better"] + tools + [f"netd/{p}" for p in peers]
    rows, notes = [], []  # notes: one per distinct (tool, reason)
    for mid, label, unit, hib, _raw, _kind in METRICS:
        row = table[mid]
        if all(v == "not measured" for v in row.values()):
            continue  # a line left out (run.sh --lines)
        cells = [label, unit, "higher" if hib else "lower"]
        for tool in tools:
            v = row.get(tool)
            if isinstance(v, tuple):
                cells.append(fmt(v[0], unit) + (f" ({v[1]})" if v[1] else ""))
            else:
                note = v if v.startswith(tool + " ") else f"{tool}: {v}"
                if note not in notes:
                    notes.append(note)
                cells.append(f"n/a [{notes.index(note) + 1}]")
        n = row.get("netd")
        for p in peers:
            pv = row.get(p)
            if isinstance(n, tuple) and isinstance(pv, tuple) and pv[0] > 0:
                cells.append(f"{n[0] / pv[0]:.2f}x")
            else:
                cells.append("n/a")
        rows.append(cells)
    return header, rows, notes


def text_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def write_md(path, facts, header, rows, notes, png, cpu_rows=None):
    tools = facts.get("tools", "").split()
    lines = [
        "# Benchmarks: netd side by side with slirp4netns and pasta",
        "",
        "Generated by `bench/run.sh` (see bench/README.md). One run, one machine,",
        "all tools measured back to back. Absolute numbers on a shared 2-core machine",
        "are noisy: quote the ratios, which compare tools within this one run.",
        "Ratios are netd / peer: above 1 is better for netd in throughput and",
        "connections/s, below 1 is better for netd in latency.",
        "",
        f"- Date: {facts.get('date', '?')}",
        f"- Command: `{facts.get('command', 'bench/run.sh')}`",
        f"- Machine: {facts.get('cpu', '?')}, {facts.get('cpus', '?')} CPUs, {facts.get('mem', '?')}, "
        f"Linux {facts.get('kernel', '?')}, {facts.get('os', '?')}; load average {facts.get('load', '?')} "
        f"at the start, {facts.get('load_end', '?')} at the end",
        f"- netd {facts.get('netd', '?')}; slirp4netns {facts.get('slirp4netns', '?')}; "
        f"pasta {facts.get('pasta', '?')}; {facts.get('iperf3', '?')}",
    ]
    if "pasta-new" in tools:
        lines.append(f"- pasta-new: {facts.get('pasta-new', '?')}")
    lines += [
        f"- iperf3 -t {facts.get('duration', '?')} per line; {facts.get('n_rr', '?')} round trips per latency "
        f"line; {facts.get('n_crr', '?')} connections for conn/s; {facts.get('rounds', '1')} round(s), "
        f"median shown; measuring took {facts.get('elapsed', '?')}",
        "",
        md_table(header, rows),
        "",
    ]
    if notes:
        lines.append("n/a reasons:")
        lines.append("")
        lines += [f"{i}. {n}" for i, n in enumerate(notes, 1)]
        lines.append("")
    if cpu_rows and cpu_rows[1]:
        lines += [
            "CPU time each tool spent per unit of work during the same lines (all threads,",
            "from /proc/PID/task/*/schedstat; lower is better, ratios below 1 favour netd):",
            "",
            md_table(*cpu_rows),
            "",
        ]
    if png:
        lines += [f"![benchmark chart]({os.path.basename(png)})", ""]
    lines += [
        "Set-up: every tool serves a fresh container namespace (`unshare --user",
        "--map-root-user --net`) whose tap it creates at the given MTU; clients in the",
        "container talk to 10.0.2.2, which each tool maps to the host's 127.0.0.1 where",
        "the servers listen (iperf3, and bench/rr.cpp's echo server). \"loopback\" runs",
        "the same clients on the host against 127.0.0.1 directly (lo MTU 65536, or 1500",
        "for the MTU 1500 lines): the ceiling for any tap path. Retransmits (retr) are",
        "iperf3's sender count; UDP is iperf3 -u -b 0, so loss shows the sender",
        "outrunning the path. The TCP-over-IPv6 lines do the same over IPv6: the",
        "container talks to fd00::2, which netd, slirp4netns (started with",
        "--enable-ipv6) and pasta (given fd00::100 and gateway fd00::2) map to the",
        "host's ::1, where iperf3 listens; loopback runs against ::1.",
        "",
        "The machine is shared with other work (builds, tests): runs use few rounds",
        "to keep the load they add short, and the load averages above say how busy",
        "it was.",
        "",
    ]
    # Sections other scripts keep in the same file (e.g. bench/dns.sh's,
    # between "<!-- NAME:begin -->" and "<!-- NAME:end -->") stay as they are.
    kept = []
    if os.path.exists(path):
        old = open(path, encoding="utf-8").read()
        kept = [m.group(0) for m in re.finditer(r"<!-- ([\w-]+):begin -->.*?<!-- \1:end -->", old, flags=re.S)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


COLORS = {"loopback": "#9e9e9e", "netd": "#1565c0", "slirp4netns": "#ef6c00", "pasta": "#2e7d32",
          "pasta-new": "#81c784"}


def draw(path, table, tools, facts):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("Throughput, Gbit/s\n(higher is better)", False,
         [("tcp_c2h_65520", "TCP c->h\n65520"), ("tcp_h2c_65520", "TCP h->c\n65520"),
          ("tcp6_c2h_65520", "TCP6 c->h\n65520"), ("tcp6_h2c_65520", "TCP6 h->c\n65520"),
          ("tcp_c2h_1500", "TCP c->h\n1500"), ("tcp_h2c_1500", "TCP h->c\n1500"),
          ("udp_c2h_65520", "UDP c->h\nreceived")]),
        ("Request/response latency, us, log scale\n(lower is better)", True,
         [("tcp_rr_p50", "TCP p50"), ("tcp_rr_p99", "TCP p99"), ("udp_rr_p50", "UDP p50"),
          ("udp_rr_p99", "UDP p99")]),
        ("Connections/s\n(higher is better)", False, [("tcp_crr", "TCP connect\n+ 64 B rr + close")]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.5), gridspec_kw={"width_ratios": [5, 4, 1.6]})
    width = 0.8 / len(tools)
    for ax, (title, log, groups) in zip(axes, panels):
        top = max([table[m][t][0] for m, _ in groups for t in tools if isinstance(table[m].get(t), tuple)] + [1])
        # Label positions: a fraction of the axis on a linear scale, a factor on a log one.
        low = 1.0 if log else 0.0
        above = (lambda v: v * 1.08) if log else (lambda v: v + top * 0.01)
        for i, tool in enumerate(tools):
            for g, (mid, _lab) in enumerate(groups):
                x = g + (i - (len(tools) - 1) / 2) * width
                v = table[mid].get(tool)
                if isinstance(v, tuple):
                    ax.bar(x, v[0], width, color=COLORS.get(tool, "#555"), label=tool if g == 0 else None)
                    txt = f"{v[0]:.1f}" if v[0] < 100 else f"{v[0]:.0f}"
                    ax.text(x, above(v[0]), txt, ha="center", va="bottom", fontsize=7, rotation=90)
                else:
                    ax.bar(x, 0, width, color=COLORS.get(tool, "#555"), label=tool if g == 0 else None)
                    ax.text(x, above(low), "n/a", ha="center", va="bottom", fontsize=7, rotation=90,
                            color=COLORS.get(tool, "#555"))
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([lab for _, lab in groups], fontsize=9)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(low, top * 3)
        else:
            ax.set_ylim(0, top * 1.18)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=9, loc="upper right")
    fig.suptitle(f"netd vs slirp4netns vs pasta, one run on {facts.get('cpus', '?')} CPUs, "
                 f"{facts.get('date', '')}: compare tools within the run", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--md")
    ap.add_argument("--png")
    a = ap.parse_args()
    facts = read_facts(a.results)
    tools = [t for t in TOOLS if t in facts.get("tools", " ".join(TOOLS)).split()]
    table = load(a.results, tools)
    header, rows, notes = build_rows(table, tools)
    print(text_table(header, rows))
    for i, n in enumerate(notes, 1):
        print(f"[{i}] {n}")
    cpu_rows = build_cpu_rows(load_cpu(a.results, tools), tools)
    if cpu_rows[1]:
        print()
        print(text_table(*cpu_rows))
    if a.png:
        try:
            draw(a.png, table, tools, facts)
            print(f"chart: {a.png}")
        except ImportError as e:
            print(f"report: no chart ({e}); install python3-matplotlib", file=sys.stderr)
            a.png = None
    if a.md:
        write_md(a.md, facts, header, rows, notes, a.png, cpu_rows)
        print(f"report: {a.md}")


if __name__ == "__main__":
    main()
