"""bench/report_ports.py: the published-ports section of the benchmark page.

Theory of operation. bench/ports_measure.sh leaves RESULTS/raw/TOOL/
{h2c,c2h}.rN.json (iperf3 -J) per round N, .err beside a failed run,
TOOL/start.err when the tool never came up, and TOOL/who.txt (the address
the container's server saw for a client in the world namespace);
started.tsv has each tool's command line. collect() makes Stats of the
rounds, section() the Markdown, text() the table for stdout.
"""
import os

from report_lib import Notes, commands_md, fmt_ratio, md_table, ratio, read_text, rounds_of, stat_of, table_text
from report_tap import load_round

WORLD_CLIENT = "198.51.100.10"
TOOLS = ["loopback", "netd-instack", "netd-pasta", "netd-forward", "pasta13", "slirp4netns", "rootlesskit"]
HOW = {
    "loopback": "iperf3 over the host's lo, no container (the ceiling)",
    "netd-instack": "`netd attach -p`: through the tap stack",
    "netd-pasta": "netd as pasta, `-t`: through the tap stack",
    "netd-forward": "`netd forward -p`: connects inside the namespace, splice, no tap",
    "pasta13": "Debian 13's pasta, `-t`",
    "slirp4netns": "slirp4netns' API, `add_hostfwd` (libslirp)",
    "rootlesskit": "RootlessKit `--port-driver=builtin` (net: slirp4netns)",
}
LINES = [("h2c", "host->container Gbit/s"), ("c2h", "container->host Gbit/s")]


def collect(sdir, facts):
    raw = os.path.join(sdir, "raw")
    tools = [t for t in TOOLS if os.path.isdir(os.path.join(raw, t))]
    vals, who = {}, {}
    for t in tools:
        d = os.path.join(raw, t)
        start = read_text(os.path.join(d, "start.err"))
        for line, _ in LINES:
            if start is not None:
                vals[(t, line)] = start or "did not start"
            else:
                vals[(t, line)] = stat_of([load_round(r, "tcp") for r in rounds_of(d, line)])
        if t != "loopback":
            seen = read_text(os.path.join(d, "who.txt"))
            who[t] = (seen.split() or ["?"])[0] if seen else None
    return {"tools": tools, "vals": vals, "who": who}


def rows(data, notes):
    header = ["tool"] + [h for _, h in LINES] + [f"netd-instack/tool {line}" for line, _ in LINES] + \
             ["world client seen as", "source kept"]
    out = []
    for t in data["tools"]:
        cells = [t] + [notes.cell(t, data["vals"][(t, line)], lambda v: f"{v:.2f}") for line, _ in LINES]
        cells += [fmt_ratio(ratio(data["vals"].get(("netd-instack", line)), data["vals"][(t, line)]))
                  for line, _ in LINES]
        if t == "loopback":
            cells += ["-", "-"]
        else:
            seen = data["who"].get(t)
            cells += [seen or "n/a", "n/a" if not seen else ("yes" if seen == WORLD_CLIENT else "no")]
        out.append(cells)
    return header, out


def kept(data):
    return [t for t, s in data["who"].items() if s == WORLD_CLIENT], \
           [t for t, s in data["who"].items() if s and s != WORLD_CLIENT]


def section(data, facts, started_rows):
    notes = Notes()
    header, table = rows(data, notes)
    yes, no = kept(data)
    lines = [
        "## Published ports",
        "",
        "Throughput from a client on the host's 127.0.0.1 to a port published from a container, through each "
        "way of publishing it, and back (`-R`); the tools stand side by side and take turns, in an order rotated "
        f"every round; iperf3 -t {facts.get('duration', '?')}, one TCP stream, median of "
        f"{facts.get('rounds', '?')} round(s) with the range. \"source kept\": a client at {WORLD_CLIENT} "
        "(a world namespace) asks a server in the container, through the published port, which address it saw.",
        "",
        md_table(header, table),
        "",
    ]
    lines += notes.md()
    lines += ["How each tool publishes the port:", ""]
    lines += [f"- {t}: {HOW[t]}" for t in data["tools"]]
    lines += [""]
    if yes or no:
        lines += [f"The client's address reached the container through {', '.join(yes) or 'no tool'}; "
                  f"{', '.join(no) or 'no tool'} showed it another address. A forwarder that connects from "
                  "inside the namespace (netd forward, RootlessKit's builtin driver) hands the server a "
                  "connection from the namespace's own side, so the client's address cannot survive it; the "
                  "tap paths carry the client's packets into the container's own TCP.", ""]
    return lines + commands_md("tool", started_rows)


def text(data, facts):
    return table_text(rows, data)
