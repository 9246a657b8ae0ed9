"""bench/report_streams.py: the "Several streams" section of the benchmark page.

Theory of operation. bench/streams_measure.sh leaves RESULTS/raw/TOOL/
LINE.rN.json (iperf3 -J, -P 1, 2 or 4 streams) per round N, .err beside a
failed round (LINE.err: the tool never started), and started.tsv with each
tool's command line. collect() makes Stats of the rounds, section() the
Markdown, text() the table for stdout, and goal() the goal's row: 4 streams
of netd --queues 2 against 4 streams of loopback, in the direction where
that ratio is lower. Every figure comes from those files.
"""
import os

from report_lib import (Notes, commands_md, fmt_goal_ratio, fmt_ratio, md_table, ratio, read_text, rounds_of,
                        stat_of, table_text)
from report_tap import label, load_round

TOOLS = ["loopback", "pasta13", "netd", "netd-q2", "netd-q4"]
HOW = {
    "loopback": "iperf3 over the host's lo, no container (the ceiling)",
    "pasta13": "Debian 13's pasta (one thread)",
    "netd": "`netd attach`: one tap queue, one data-plane thread (the default)",
    "netd-q2": "`netd attach --queues 2`: a multi-queue tap, a thread and loop per queue",
    "netd-q4": "`netd attach --queues 4`",
}
STREAMS = [1, 2, 4]
DIRECTIONS = [("c2h", "container->host"), ("h2c", "host->container")]
GOAL_TOOL = "netd-q2"
GOAL_SHARE = 0.8
GOAL_TEXT = f"4 streams >= {GOAL_SHARE}x loopback's 4-stream figure (netd --queues 2, each direction)"


def collect(sdir, facts):
    raw = os.path.join(sdir, "raw")
    tools = [t for t in TOOLS if os.path.isdir(os.path.join(raw, t))]
    vals = {}
    for t in tools:
        d = os.path.join(raw, t)
        for direction, _ in DIRECTIONS:
            for n in STREAMS:
                line = f"{direction}_p{n}"
                err = read_text(os.path.join(d, line + ".err"))
                vals[(t, line)] = (err or "did not start") if err is not None else \
                    stat_of([load_round(r, "tcp") for r in rounds_of(d, line)])
    return {"tools": tools, "vals": vals}


def rows(data, notes):
    header = ["tool"] + [f"{name}, {n} stream{'s' if n > 1 else ''} Gbit/s" for direction, name in DIRECTIONS
                         for n in STREAMS] + [f"4 streams / loopback's, {direction}" for direction, _ in DIRECTIONS]
    out = []
    for t in data["tools"]:
        cells = [t] + [notes.cell(t, data["vals"][(t, f"{d}_p{n}")], lambda v: f"{v:.2f}")
                       for d, _ in DIRECTIONS for n in STREAMS]
        cells += [fmt_ratio(ratio(data["vals"][(t, f"{d}_p4")], data["vals"].get(("loopback", f"{d}_p4"))))
                  for d, _ in DIRECTIONS]
        out.append(cells)
    return header, out


def goal(data):
    """(goal, measured, met or None when not measured) from the run's data."""
    if not data:
        return GOAL_TEXT, "", None
    parts, met = [], True
    for d, name in DIRECTIONS:
        r = ratio(data["vals"].get((GOAL_TOOL, f"{d}_p4")), data["vals"].get(("loopback", f"{d}_p4")))
        if r is None:
            return GOAL_TEXT, "", None
        n, lo = data["vals"][(GOAL_TOOL, f"{d}_p4")], data["vals"][("loopback", f"{d}_p4")]
        parts.append(f"{name} {fmt_goal_ratio(r, GOAL_SHARE)} ({n.median:.2f} vs {lo.median:.2f} Gbit/s)")
        met = met and r >= GOAL_SHARE
    return GOAL_TEXT, "; ".join(parts), met


def section(data, facts, started_rows):
    notes = Notes()
    header, table = rows(data, notes)
    g, measured, met = goal(data)
    verdict = "not measured" if met is None else f"{measured}: {'met' if met else 'not met'}"
    lines = [
        "## Several streams",
        "",
        "Parallel TCP streams (iperf3 -P 1, 2 and 4) between a container and the host's 127.0.0.1, each way, "
        "at MTU 65520; loopback runs the same client without a container (the ceiling). The tools stand side "
        "by side and take turns, in an order rotated every round; iperf3 -t "
        f"{facts.get('duration', '?')}, median of {facts.get('rounds', '?')} round(s) with the range. A "
        "multi-queue tap spreads the guest's flows over its queues, each answered by its own thread, so "
        f"several streams can use several cores on this {facts.get('cpus', '?')}-CPU machine.",
        "",
        md_table(header, table),
        "",
        f"Goal: {g}: {verdict}.",
        "",
    ]
    lines += notes.md()
    lines += ["How each tool runs:", ""]
    lines += [f"- {t} ({label(t, facts)}): {HOW[t]}" if label(t, facts) != t else f"- {t}: {HOW[t]}"
              for t in data["tools"]]
    lines += [""]
    return lines + commands_md("tool", started_rows)


def text(data, facts):
    return table_text(rows, data) + [" ".join(str(x) for x in goal(data))]
