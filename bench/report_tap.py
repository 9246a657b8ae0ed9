"""bench/report_tap.py: the tap section of the benchmark page.

Theory of operation. bench/tap_measure.sh leaves, per tool, raw/TOOL/
LINE.rN.json for round N (iperf3 -J, one netd-bench-rr JSON line, or the
idle line's {"flows","rss_before_kib","rss_after_kib"}), .err beside a
failed round (LINE.err: the tool never started), LINE.rN.cpu (the tool's CPU
seconds during the round) and link.MTU.txt (`ip -d link` of its tap).
collect() turns them into {metric: {tool: Stat or reason}} plus the CPU per
unit of work and the taps' offloads; section() writes the Markdown and
draw() the chart. Every figure and every sentence with a figure comes from
those files.
"""
import os

from report_lib import (Notes, Stat, fmt_ratio, md_table, num, ratio, read_json, read_text, rounds_of, short_version,
                        stat_of, table_text, text_table)

TOOLS = ["loopback", "netd", "netd-epoll", "netd-nooffload", "netd-pasta", "netd-base", "slirp4netns", "pasta12",
         "pasta13", "pasta-new"]
PEERS = ["slirp4netns", "pasta12", "pasta13", "pasta-new"]  # not netd, not the ceiling
NETD_KIN = ["netd", "netd-epoll", "netd-nooffload", "netd-pasta", "netd-base"]
ANCHOR = "pasta13"  # today's pasta
BULK = ["tcp_c2h_65520", "tcp_h2c_65520", "tcp4_c2h_65520", "tcp_c2h_1500", "tcp_h2c_1500"]

# metric id, raw line, label, unit, higher is better, extractor
METRICS = [
    ("tcp_c2h_65520", "tcp_c2h_65520", "TCP container->host, MTU 65520", "Gbit/s", True, "tcp"),
    ("tcp_h2c_65520", "tcp_h2c_65520", "TCP host->container, MTU 65520", "Gbit/s", True, "tcp"),
    ("tcp4_c2h_65520", "tcp4_c2h_65520", "4 TCP streams container->host, MTU 65520", "Gbit/s", True, "tcp"),
    ("tcp6_c2h_65520", "tcp6_c2h_65520", "TCP over IPv6 container->host ::1, MTU 65520", "Gbit/s", True, "tcp"),
    ("tcp6_h2c_65520", "tcp6_h2c_65520", "TCP over IPv6 host ::1->container, MTU 65520", "Gbit/s", True, "tcp"),
    ("tcp_c2h_1500", "tcp_c2h_1500", "TCP container->host, MTU 1500", "Gbit/s", True, "tcp"),
    ("tcp_h2c_1500", "tcp_h2c_1500", "TCP host->container, MTU 1500", "Gbit/s", True, "tcp"),
    ("udp_rx", "udp_c2h_65520", "UDP container->host, 1400 B at {udp_rate}bit/s offered: received", "Gbit/s", True,
     "udp_rx"),
    ("udp_loss", "udp_c2h_65520", "UDP container->host, the same: lost", "%", False, "udp_loss"),
    ("tcp_rr_p50", "tcp_rr", "TCP request/response 64 B, p50", "us", False, "p50_us"),
    ("tcp_rr_p99", "tcp_rr", "TCP request/response 64 B, p99", "us", False, "p99_us"),
    ("tcp_rr_p999", "tcp_rr", "TCP request/response 64 B, p99.9", "us", False, "p999_us"),
    ("udp_rr_p50", "udp_rr", "UDP request/response 64 B, p50", "us", False, "p50_us"),
    ("udp_rr_p99", "udp_rr", "UDP request/response 64 B, p99", "us", False, "p99_us"),
    ("udp_rr_p999", "udp_rr", "UDP request/response 64 B, p99.9", "us", False, "p999_us"),
    ("tcp_crr", "tcp_crr", "TCP connect + 64 B round trip + close", "conn/s", True, "cps"),
    ("idle_rss", "tcp_idle", "RSS per 1000 idle TCP flows", "KiB", False, "rss"),
]
# A raw line's name in prose and in the load table.
LINE_LABEL = {
    "tcp_c2h_65520": "TCP container->host, MTU 65520",
    "tcp_h2c_65520": "TCP host->container, MTU 65520",
    "tcp4_c2h_65520": "4 TCP streams container->host, MTU 65520",
    "tcp6_c2h_65520": "TCP over IPv6 container->host, MTU 65520",
    "tcp6_h2c_65520": "TCP over IPv6 host->container, MTU 65520",
    "tcp_c2h_1500": "TCP container->host, MTU 1500",
    "tcp_h2c_1500": "TCP host->container, MTU 1500",
    "udp_c2h_65520": "UDP container->host at a fixed rate",
    "tcp_rr": "TCP request/response",
    "udp_rr": "UDP request/response",
    "tcp_crr": "TCP connections/s",
    "tcp_idle": "idle TCP flows (RSS)",
}

# CPU per unit of work: raw line, label, unit, what the work is
CPU_LINES = [
    ("tcp_c2h_65520", "TCP container->host, MTU 65520", "ms/GB", "gb"),
    ("tcp_h2c_65520", "TCP host->container, MTU 65520", "ms/GB", "gb"),
    ("tcp4_c2h_65520", "4 TCP streams container->host, MTU 65520", "ms/GB", "gb"),
    ("tcp6_c2h_65520", "TCP over IPv6 container->host, MTU 65520", "ms/GB", "gb"),
    ("tcp6_h2c_65520", "TCP over IPv6 host->container, MTU 65520", "ms/GB", "gb"),
    ("tcp_c2h_1500", "TCP container->host, MTU 1500", "ms/GB", "gb"),
    ("tcp_h2c_1500", "TCP host->container, MTU 1500", "ms/GB", "gb"),
    ("udp_c2h_65520", "UDP container->host (per GB received)", "ms/GB", "gb"),
    ("tcp_rr", "TCP request/response 64 B", "us/round trip", "n"),
    ("udp_rr", "UDP request/response 64 B", "us/round trip", "n"),
    ("tcp_crr", "TCP connect + round trip + close", "us/connection", "n"),
]
CPU_BULK = ["tcp_c2h_65520", "tcp_h2c_65520", "tcp_c2h_1500", "tcp_h2c_1500"]


def label(tool, facts):
    """A tool's name with its version, for legends and prose."""
    return {
        "loopback": "host loopback",
        "netd": "netd",
        "netd-epoll": "netd on its epoll loop (NETD_EVENT_LOOP=epoll)",
        "netd-nooffload": "netd --no-offload",
        "netd-pasta": "netd as pasta",
        "netd-base": f"netd {facts.get('baseline', '?')[:9]} (baseline)",
        "slirp4netns": f"slirp4netns {facts.get('slirp4netns', '?').split(',')[0]}",
        "pasta12": f"pasta {short_version(facts.get('pasta12'))}",
        "pasta13": f"pasta {short_version(facts.get('pasta13'))}",
        "pasta-new": f"pasta-new ({facts.get('pasta-new', '?')})",
    }.get(tool, tool)


def extract(kind, data):
    """(value, note) of one round's result; raises KeyError/ValueError/TypeError if absent."""
    if "error" in data:
        raise ValueError(data["error"])
    if kind == "tcp":
        end = data["end"]
        retr = end.get("sum_sent", {}).get("retransmits")
        notes = [f"{retr} retr"] if retr else []
        # Seconds (iperf3's intervals) that carried under a tenth of the round's best second: a stall.
        rates = [i["sum"]["bits_per_second"] for i in data.get("intervals", []) if "sum" in i]
        stalled = sum(1 for r in rates if rates and r < 0.1 * max(rates))
        if stalled:
            notes.append(f"{stalled}/{len(rates)} s stalled")
        return end["sum_received"]["bits_per_second"] / 1e9, ", ".join(notes)
    if kind == "udp_rx":
        end = data["end"]
        return end.get("sum_received", end["sum"])["bits_per_second"] / 1e9, ""
    if kind == "udp_loss":
        return float(data["end"]["sum"]["lost_percent"]), ""
    if kind == "rss":
        return (data["rss_after_kib"] - data["rss_before_kib"]) * 1000.0 / data["flows"], ""
    return float(data[kind]), ""


def load_round(base, kind):
    """(value, note) from BASE.json, or a reason from BASE.err."""
    err = read_text(base + ".err")
    if err is not None:
        return err or "failed"
    try:
        return extract(kind, read_json(base + ".json"))
    except FileNotFoundError:
        return "not measured"
    except (ValueError, KeyError, TypeError) as e:
        return str(e) or "unreadable result"


def cpu_round(base, work):
    """The tool's CPU per unit of work in one round (BASE.cpu + BASE.json), or None."""
    try:
        cpu = float(read_text(base + ".cpu"))
        data = read_json(base + ".json")
        if work == "gb":
            done = data["end"].get("sum_received", data["end"].get("sum"))["bytes"] / 1e9
            return cpu * 1e3 / done if done > 0 else None
        return cpu * 1e6 / data["n"] if data["n"] > 0 else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def collect(sdir, facts):
    """Everything the section shows, from one results directory."""
    tools = [t for t in TOOLS if t in facts.get("tools", "").split()]
    raw = os.path.join(sdir, "raw")
    table = {}
    for mid, line, *_rest, kind in METRICS:
        row = {}
        for tool in tools:
            d = os.path.join(raw, tool)
            if os.path.exists(os.path.join(d, line + ".err")):  # the tool never started
                row[tool] = read_text(os.path.join(d, line + ".err")) or "did not start"
                continue
            rounds = rounds_of(d, line)
            if rounds:
                row[tool] = stat_of([load_round(r, kind) for r in rounds])
        if row:
            table[mid] = row
    cpu = {}
    for line, _label, _unit, work in CPU_LINES:
        row = {}
        for tool in tools:
            got = [v for v in (cpu_round(r, work) for r in rounds_of(os.path.join(raw, tool), line)) if v is not None]
            if got:
                row[tool] = Stat(got)
        if row:
            cpu[line] = row
    offload = {}  # tool -> {mtu: True/False}
    for tool in tools:
        for mtu in ("65520", "1500"):
            text = read_text(os.path.join(raw, tool, f"link.{mtu}.txt"))
            if text and "vnet_hdr" in text:
                offload.setdefault(tool, {})[mtu] = "vnet_hdr on" in text
    return {"tools": tools, "table": table, "cpu": cpu, "offload": offload}


def uses_offload(data, mtu):
    return [t for t in data["tools"] if data["offload"].get(t, {}).get(mtu)]


def no_offload(data, mtu):
    return [t for t in data["tools"] if data["offload"].get(t, {}).get(mtu) is False]


def ratio_pairs(tools):
    """The ratio columns: (numerator, denominator) pairs present in the run."""
    pairs = [("netd", p) for p in ["pasta13", "pasta12", "slirp4netns", "pasta-new", "loopback"] if p in tools]
    if "netd-pasta" in tools and ANCHOR in tools:
        pairs.append(("netd-pasta", ANCHOR))
    if "netd-epoll" in tools:  # what a host that refuses io_uring costs
        pairs.append(("netd-epoll", "netd"))
    return pairs if "netd" in tools else []


def fmt_unit(unit):
    return {"Gbit/s": lambda v: f"{v:.2f}", "us": lambda v: f"{v:.1f}", "%": lambda v: f"{v:.1f}"}.get(unit, num)


def main_rows(data, facts, notes):
    tools = data["tools"]
    pairs = ratio_pairs(tools)
    header = ["line", "unit", "better"] + tools + [f"{a}/{b}" for a, b in pairs]
    rows = []
    for mid, _line, lab, unit, hib, _kind in METRICS:
        if mid not in data["table"]:
            continue
        row = data["table"][mid]
        lab = lab.format(udp_rate=facts.get("udp_rate", "?"))
        if mid.endswith("_1500"):
            on = uses_offload(data, "1500")
            lab += f" (offloads: {', '.join(on) if on else 'none'})"
        cells = [lab, unit, "higher" if hib else "lower"]
        for t in tools:
            v = row.get(t)
            cells.append("-" if v is None else notes.cell(t, v, fmt_unit(unit)))
        cells += [fmt_ratio(ratio(row.get(a), row.get(b))) for a, b in pairs]
        rows.append(cells)
    return header, rows


def cpu_rows(data):
    tools = [t for t in data["tools"] if any(t in r for r in data["cpu"].values())]
    pairs = [(a, b) for a, b in ratio_pairs(tools) if b != "loopback"]
    header = ["line", "CPU per"] + tools + [f"{a}/{b}" for a, b in pairs]
    rows = []
    for line, lab, unit, _work in CPU_LINES:
        row = data["cpu"].get(line)
        if not row:
            continue
        cells = [lab, unit] + [row[t].cell(num) if t in row else "-" for t in tools]
        cells += [fmt_ratio(ratio(row.get(a), row.get(b))) for a, b in pairs]
        rows.append(cells)
    return header, rows


def best_peer(row, lower_better):
    """(tool, Stat) of the best peer in a row, or (None, None)."""
    got = [(t, row[t]) for t in PEERS if isinstance(row.get(t), Stat)]
    if not got:
        return None, None
    return (min if lower_better else max)(got, key=lambda x: x[1].median)


def summary(data, facts):
    """Sentences with figures, all computed: one per line group."""
    t = data["table"]
    out = []

    def med(mid, tool):
        v = t.get(mid, {}).get(tool)
        return v if isinstance(v, Stat) else None

    for mid, _line, lab, unit, hib, _kind in METRICS:
        n = med(mid, "netd")
        if n is None or mid == "udp_loss":
            continue
        who, best = best_peer(t[mid], not hib)
        if best is None:
            continue
        lab = lab.format(udp_rate=facts.get("udp_rate", "?"))
        r = n.median / best.median if best.median else None
        if r is None:
            continue
        if hib:
            verdict = "ahead of" if r > 1 else "behind"
        else:
            verdict = "ahead of" if r < 1 else "behind"
        if abs(r - 1) < 0.02:
            verdict = "level with"
        f = fmt_unit(unit)
        out.append(f"{lab}: netd {f(n.median)} {unit}, the best peer {label(who, facts)} {f(best.median)} {unit}: "
                   f"netd is {verdict} it ({r:.2f}x).")
    return out


def section(data, facts, sdir, started_rows, png_name):
    notes = Notes()
    header, rows = main_rows(data, facts, notes)
    lines = [
        "## Tap lines: netd next to slirp4netns, pasta and loopback",
        "",
        f"Each cell is the median of {facts.get('rounds', '?')} round(s) with the lowest and highest round in "
        "brackets; ratios divide medians (above 1 favours the numerator for \"higher\" lines, below 1 for "
        "\"lower\" ones). Tools (the command lines are below):",
        "",
    ]
    lines += [f"- {t}: {label(t, facts)}" for t in data["tools"]]
    lines += ["", md_table(header, rows), ""]
    lines += notes.md()
    if "netd-epoll" in data["tools"]:
        lines += [
            "netd-epoll is the same netd on its fallback event loop (epoll instead of io_uring, forced with "
            "`NETD_EVENT_LOOP=epoll`), the loop it runs on where io_uring is refused (kernel.io_uring_disabled, "
            "the seccomp profiles of Docker and containerd); the netd-epoll/netd column is what such a host costs.",
            "",
        ]
    said = []
    for mtu in ("1500", "65520"):
        on, off = uses_offload(data, mtu), no_offload(data, mtu)
        if on or off:
            said.append(f"at MTU {mtu} the taps of {', '.join(on) if on else 'no tool'} had them, those of "
                        f"{', '.join(off) if off else 'no tool'} not")
    if said:
        lines += [
            "Offloads (virtio-net headers on the tap, `vnet_hdr on` in `ip -d link` inside each container): "
            + "; ".join(said) + ". With them the container's TCP hands the tool segments larger than the MTU "
            "(GSO) with checksums left to fill in; without them the kernel cuts every segment to the MTU first. "
            "netd-nooffload is the same netd with `--no-offload`.",
            "",
        ]
    if png_name:
        lines += [f"![tap lines]({png_name})", ""]
    sentences = summary(data, facts)
    if sentences:
        lines += ["In short (netd against the best of " + ", ".join(p for p in PEERS if p in data["tools"]) +
                  " on each line):", ""]
        lines += [f"- {s}" for s in sentences] + [""]
    ch, cr = cpu_rows(data)
    if cr:
        lines += [
            "CPU time each tool spent per unit of work during the same lines (all its threads, from "
            "/proc/PID/task/*/schedstat; lower is better; medians with the rounds' range):",
            "",
            md_table(ch, cr),
            "",
        ]
    if started_rows:
        lines += ["How each tool was started (PID: the container's holder process):", "", "| tool | MTU | command |",
                  "|---|---|---|"]
        lines += [f"| {t} | {m} | `{c}` |" for t, m, c in started_rows]
        lines += [""]
    lines += [
        "Set-up: every tool serves a fresh container namespace (`unshare --user --map-root-user --net`) whose "
        "tap it creates at the line's MTU, with the same layout (10.0.2.100/24 behind 10.0.2.2, which each tool "
        "maps to the host's 127.0.0.1); the servers listen there (a one-off iperf3 per line, bench/rr.cpp's echo "
        "server). loopback runs the same clients on the host against 127.0.0.1 directly (lo at MTU 1500 for the "
        "MTU 1500 lines): the ceiling for any tap path. At each MTU all tools stand ready at once and each line "
        "runs for every tool back to back, in an order rotated every round. Request/response lines time "
        f"{facts.get('n_rr', '?')} round trips of 64 bytes on one connection (UDP: one socket); connections/s "
        f"opens {facts.get('n_crr', '?')}; iperf3 runs {facts.get('duration', '?')} s per line. The idle line "
        f"starts a fresh instance of the tool, reads its VmRSS, opens {facts.get('n_idle', '?')} TCP connections "
        "through it (one round trip each), waits a second and reads VmRSS again; the table scales the growth to "
        "1000 flows. pasta13 runs from a Debian 13 root file system (its own libraries) through a mount "
        "namespace, with the run's network, pid and user namespaces.",
        "",
    ]
    return lines


COLORS = {"loopback": "#9e9e9e", "netd": "#1565c0", "netd-epoll": "#6a1b9a", "netd-nooffload": "#64b5f6",
          "netd-pasta": "#3949ab",
          "netd-base": "#90caf9", "slirp4netns": "#ef6c00", "pasta12": "#a5d6a7", "pasta13": "#2e7d32",
          "pasta-new": "#c0ca33"}


def draw(path, data, facts):
    """The tap lines' chart: bars at the median, whiskers from the lowest to the highest round."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = data["table"]
    panels = [
        ("Throughput, Gbit/s (higher is better)", False,
         [("tcp_c2h_65520", "TCP c->h\n65520"), ("tcp_h2c_65520", "TCP h->c\n65520"),
          ("tcp4_c2h_65520", "4 TCP c->h\n65520"), ("tcp_c2h_1500", "TCP c->h\n1500"),
          ("tcp_h2c_1500", "TCP h->c\n1500"), ("udp_rx", "UDP c->h\nreceived")]),
        ("Request/response latency, us, log scale (lower is better)", True,
         [("tcp_rr_p50", "TCP p50"), ("tcp_rr_p99", "TCP p99"), ("tcp_rr_p999", "TCP p99.9"),
          ("udp_rr_p50", "UDP p50"), ("udp_rr_p99", "UDP p99"), ("udp_rr_p999", "UDP p99.9")]),
        ("Connections/s\n(higher is better)", False, [("tcp_crr", "TCP connect\n+ rr + close")]),
    ]
    panels = [(a, b, [g for g in gs if g[0] in t]) for a, b, gs in panels]
    panels = [p for p in panels if p[2]]
    if not panels:
        return False
    tools = data["tools"]
    # Throughput across the top; latency and connections/s below it.
    fig = plt.figure(figsize=(16, 10))
    grid = fig.add_gridspec(2, 6)
    slots = {0: grid[0, :], 1: grid[1, :5], 2: grid[1, 5]}
    width = 0.85 / len(tools)
    axes = []
    legend = set()
    for k, (title, log, groups) in enumerate(panels):
        ax = fig.add_subplot(slots[k] if len(panels) == 3 else grid[k if len(panels) > 1 else 0, :])
        axes.append(ax)
        for g, (mid, _lab) in enumerate(groups):
            here = [(tool, t[mid][tool]) for tool in tools if isinstance(t[mid].get(tool), Stat)]
            for i, (tool, v) in enumerate(here):  # the group's bars side by side, centred on g
                ax.bar(g + (i - (len(here) - 1) / 2) * width, v.median, width, color=COLORS.get(tool, "#555"),
                       label=tool if tool not in legend else None, yerr=[[v.median - v.low], [v.high - v.median]],
                       error_kw={"elinewidth": 0.8, "capsize": 1.5})
                legend.add(tool)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([lab for _, lab in groups], fontsize=9)
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=len(legend))
    fig.suptitle(f"netd and its peers, one run of {facts.get('rounds', '?')} round(s) on "
                 f"{facts.get('cpus', '?')} CPUs, {facts.get('date', '')} ({facts.get('netd', '')}); "
                 "bars: median, whiskers: lowest to highest round", fontsize=10, y=0.99)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def text(data, facts):
    """The section for stdout."""
    out = table_text(lambda d, notes: main_rows(d, facts, notes), data)
    ch, cr = cpu_rows(data)
    if cr:
        out += ["", text_table(ch, cr)]
    return out
