"""bench/report_dns.py: the DNS section of the benchmark page.

Theory of operation. bench/dns_measure.sh leaves RESULTS/raw/
SERVER.LINE.rN.txt (dnsperf's report; .err beside a failed one) and, for the
saturating passes, SERVER.LINE.rN.cpu ("TICKS HZ": the server's CPU time
over the pass). collect() parses them into Stats per (server, line,
metric); section() writes the Markdown with netd / aardvark-dns ratios.
"""
import os
import re

from report_lib import (Notes, Stat, commands_md, fmt_ratio, md_table, num, ratio, read_facts, read_text, rounds_of,
                        short_version, stat_of, table_text)

SERVERS = ["netd", "netd-nocache", "aardvark12", "aardvark13"]
METRICS = [  # key, label
    ("qps", "queries/s, saturating (-c 4 -q 200)"),
    ("lat_sat", "average latency there, us"),
    ("cpu", "server CPU per query, us"),
    ("lat", "average latency at {light} queries/s, us"),
]
LINES = [("local", "local names (cN.dns.podman)"), ("forwarded", "forwarded names (netd: cache hits)")]


def parse(base):
    """{qps, lat_sat | lat, lost, cpu} of one dnsperf report, or a reason."""
    err = read_text(base + ".err")
    if err is not None:
        return err or "failed"
    text = read_text(base + ".txt", "")
    qps = re.search(r"Queries per second:\s+([\d.]+)", text)
    lat = re.search(r"Average Latency \(s\):\s+([\d.]+)", text)
    lost = re.search(r"Queries lost:\s+(\d+)", text)
    done = re.search(r"Queries completed:\s+(\d+)", text)
    if not qps or not lat:
        return "no dnsperf report"
    out = {"qps": float(qps.group(1)), "lat": float(lat.group(1)) * 1e6, "lost": int(lost.group(1)) if lost else 0}
    cpu = read_text(base + ".cpu")
    if cpu and done and int(done.group(1)) > 0:
        ticks, hz = cpu.split()
        out["cpu"] = int(ticks) / int(hz) * 1e6 / int(done.group(1))
    return out


def collect(sdir, facts):
    raw = os.path.join(sdir, "raw")
    vals, lost = {}, {}
    for s in SERVERS:
        for line, _ in LINES:
            sat = [parse(b) for b in rounds_of(raw, f"{s}.{line}", ".txt")]
            light = [parse(b) for b in rounds_of(raw, f"{s}.{line}-latency", ".txt")]
            if not sat and not light:
                continue

            def pick(rs, key):
                return [r[key] if isinstance(r, dict) and key in r else (r if isinstance(r, str) else "no figure")
                        for r in rs]

            vals[(s, line, "qps")] = stat_of(pick(sat, "qps"))
            vals[(s, line, "lat_sat")] = stat_of(pick(sat, "lat"))
            vals[(s, line, "cpu")] = stat_of(pick(sat, "cpu"))
            vals[(s, line, "lat")] = stat_of(pick(light, "lat"))
            lost[(s, line)] = (sum(r["lost"] for r in sat if isinstance(r, dict)),
                               sum(r["lost"] for r in light if isinstance(r, dict)))
    return {"vals": vals, "lost": lost, "servers": [s for s in SERVERS if any(k[0] == s for k in vals)],
            "light_qps": read_facts(os.path.join(sdir, "facts.txt")).get("light_qps", "?")}


def fmt(v):
    return num(v)


def rows(data, notes):
    servers = data["servers"]
    light = data.get("light_qps", "?")
    pairs = [("netd", "aardvark13"), ("netd", "aardvark12"), ("netd-nocache", "aardvark13")]
    pairs = [p for p in pairs if p[0] in servers and p[1] in servers]
    header = ["line", "metric"] + servers + [f"{a}/{b}" for a, b in pairs]
    out = []
    for line, lab in LINES:
        for key, mlab in METRICS:
            cells = [lab, mlab.format(light=light)]
            present = False
            for s in servers:
                v = data["vals"].get((s, line, key))
                if v is None:
                    cells.append("-")
                else:
                    present = True
                    cells.append(notes.cell(s, v, fmt))
            cells += [fmt_ratio(ratio(data["vals"].get((a, line, key)), data["vals"].get((b, line, key))))
                      for a, b in pairs]
            if present:
                out.append(cells)
    return header, out


def section(data, facts, sdir_facts, started_rows):
    notes = Notes()
    header, table = rows(data, notes)
    lost = ", ".join(f"{s} {line} {a}/{b}" for (s, line), (a, b) in sorted(data["lost"].items()))
    secs = facts.get("dns_seconds", "?")
    lines = [
        f"## DNS: netd dns next to aardvark-dns {short_version(facts.get('aardvark12')).split()[0]} and "
        f"{short_version(facts.get('aardvark13')).split()[0]}",
        "",
        f"dnsperf asks each server from a container's address, {secs} s per pass, one server at a time, in an "
        f"order rotated every round; median of {facts.get('rounds', '?')} round(s) with the range. aardvark12 "
        f"is aardvark-dns {short_version(facts.get('aardvark12'))}, aardvark13 aardvark-dns "
        f"{short_version(facts.get('aardvark13'))}, run from the Debian 13 root (its own libraries) in the same network "
        "namespace as the others. Ratios divide medians: above 1 favours the first for queries/s, below 1 for "
        "latency and CPU.",
        "",
        md_table(header, table),
        "",
    ]
    lines += notes.md()
    if lost:
        lines += [f"Queries lost, all rounds (saturating/light passes): {lost}.", ""]
    lines += [
        f"Set-up: every server reads the same aardvark config directory (one network, "
        f"{sdir_facts.get('containers', '?')} containers with a name and an alias each) and the same "
        "/etc/resolv.conf, which names a second netd dns on 127.0.0.1, authoritative for the forwarded names "
        "(so nothing leaves the run). Each pass starts the server afresh after an unmeasured warm-up pass "
        "(which fills netd's cache: its forwarded line measures cache hits; aardvark-dns has no cache and "
        "forwards every query; netd-nocache is netd with `--no-cache`). dnsperf is one thread sharing the "
        "machine's CPUs with the server, so at saturation it can be the limit: the server's CPU per query "
        "(its user+system time over the saturating pass, all threads, over the answered queries) shows the "
        f"server's own cost, and the light pass at {data['light_qps']} queries/s its latency without queueing.",
        "",
    ]
    return lines + commands_md("server", started_rows)


def text(data, facts):
    return table_text(rows, data)


def stat(data, server, line, key):
    v = data["vals"].get((server, line, key))
    return v if isinstance(v, Stat) else None
