#!/usr/bin/python3
"""bench/report.py: the one generator of docs/benchmarks.md and its chart.

Usage: report.py RESULTS [--md FILE] [--png FILE]

Theory of operation. bench/run.sh leaves one results directory: facts.txt
(the machine, the commit, the tools' versions, the run's settings),
cpu_watch.tsv (bench/cpu_watch.py: the CPU the rest of the machine used)
and one directory per section that ran (tap, streams, ports, dns, podman,
podman5),
each with its raw results, lines.tsv (when each measured line ran, and the
load then) and started.tsv (the tools' command lines). This script prints
every section's table, and with --md writes the whole page: provenance, the
goals of the performance work with the measured ratio and whether each is
met, every section (bench/report_tap.py, report_streams.py, report_ports.py, report_dns.py,
report_podman.py), and the machine's load during each line. Every figure
on the page, in tables and in sentences, is computed here from those files;
the prose around them describes the method only. --png writes the tap
lines' chart. A missing section or tool shows as "not measured"; a failed
measurement as "n/a" with its reason; neither makes this script fail.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_dns  # noqa: E402
import report_podman  # noqa: E402
import report_ports  # noqa: E402
import report_streams  # noqa: E402
import report_tap  # noqa: E402
from report_lib import (BUSY_CPUS, CpuWatch, Stat, fmt_goal_ratio, line_records, load_rows,  # noqa: E402
                        md_table, read_facts, short_version, started)

# The goals of the second round of performance work, as ratios in one run.
BULK_TOLERANCE = 0.95  # a bulk line below this share of the baseline's median counts as a regression


def stat(v):
    return v if isinstance(v, Stat) else None


# What limits a goal when this run misses it: the causes found by profiling
# (perf, strace, netd's own pcap timestamps) in the performance work. Words,
# not figures: every number on the page comes from the run's data. Keyed by
# the start of the goal's text.
LIMITS = {
    "UDP request/response p99": "each exchange is one tap read, one socket send, one receive and one tap write; "
    "the tail is set by when the loop thread and the two end processes are scheduled on this 2-core machine "
    "(netd's own code is a small share of its CPU; the kernel's tap write and socket paths dominate).",
    "TCP request/response p99": "the same shape as UDP plus the guest's TCP stack: the kernel's tap write (which runs "
    "the guest's TCP receive) and the io_uring poll per exchange take most of netd's time, and the tail follows "
    "the scheduling of three processes on two cores; no queueing inside netd was found behind it.",
    "connections/s": "the SYN-ACK leaves in the round of the SYN and the teardown follows the round's frames; what "
    "remains per connection is the kernel's socket set-up and the client and server waking up, which is the "
    "same for every tool.",
    "<= 2 KiB RSS": "an idle connection holds no buffer, only its engine state and one armed poll; the rest is "
    "allocator granularity.",
    "published-port throughput": "each connection is carried through netd's TCP engine and the tap (to keep the "
    "client's address), where RootlessKit's builtin driver splices two sockets.",
    "4 streams": "each queue's thread carries its flows' frames through the tap and the sockets, and on two cores "
    "the iperf3 ends and the kernel's copies share the CPUs with netd's threads; loopback has no tap crossing "
    "at all.",
    "no TCP bulk line below the baseline": "one bulk line's rounds spread widely on this machine; when netd's "
    "range and the baseline's overlap (the measured column gives both), one run cannot tell a regression from "
    "that spread: an A/B run of that line with more rounds tells (bench/run.sh --lines LINE --tools "
    "\"netd netd-base\" --rounds N --no-docs, bench/README.md).",
    "CPU per GB": "bulk transfer cost is dominated by the kernel's copies through the tap and the sockets.",
    "DNS local names": "dnsperf is one thread that spends about as much CPU per query as the server, so on two "
    "cores the load generator caps the rate; netd's own code is a small share of its CPU per query, the kernel's "
    "UDP send path most of it, and the latency at light load is mostly wake-up time.",
}


def limit_of(goal):
    return next((text for key, text in LIMITS.items() if goal.startswith(key)), "")


def goal_rows(tap, ports, dns, facts, streams=None):
    """[(goal, measured, met)]: met is "yes", "no" or "not measured"."""
    out = []
    t = tap["table"] if tap else {}
    label = (lambda tool: report_tap.label(tool, facts))

    def add(goal, measured, ok):
        out.append((goal, measured if ok is not None else "not measured", {True: "yes", False: "no"}.get(ok, "n/a")))

    for proto, mid in (("UDP", "udp_rr_p99"), ("TCP", "tcp_rr_p99")):
        n = stat(t.get(mid, {}).get("netd"))
        who, best = report_tap.best_peer(t.get(mid, {}), True)
        if n and best:
            r = n.median / best.median
            add(f"{proto} request/response p99 <= 1.0x the best peer",
                f"{fmt_goal_ratio(r, 1.0)}: netd {n.median:.1f} us, best peer {label(who)} {best.median:.1f} us",
                r <= 1.0)
        else:
            add(f"{proto} request/response p99 <= 1.0x the best peer", "", None)
    n, p = stat(t.get("tcp_crr", {}).get("netd")), stat(t.get("tcp_crr", {}).get(report_tap.ANCHOR))
    if n and p:
        r = n.median / p.median
        add("connections/s >= 1.5x pasta",
            f"{fmt_goal_ratio(r, 1.5)}: netd {n.median:,.0f}/s, {label(report_tap.ANCHOR)} {p.median:,.0f}/s",
            r >= 1.5)
    else:
        add("connections/s >= 1.5x pasta", "", None)
    n = stat(t.get("idle_rss", {}).get("netd"))
    if n:
        per = n.median / 1000
        add("<= 2 KiB RSS per idle TCP flow", f"{per:.2f} KiB per flow ({n.median:,.0f} KiB per 1000)", per <= 2.0)
    else:
        add("<= 2 KiB RSS per idle TCP flow", "", None)
    if ports:
        n, rk = stat(ports["vals"].get(("netd-instack", "h2c"))), stat(ports["vals"].get(("rootlesskit", "h2c")))
        seen = ports["who"].get("netd-instack")
        if n and rk:
            r = n.median / rk.median
            keeps = seen == report_ports.WORLD_CLIENT
            add("published-port throughput >= 1.0x RootlessKit's builtin driver, keeping the client's address",
                f"{fmt_goal_ratio(r, 1.0)}: netd {n.median:.2f} Gbit/s, RootlessKit {rk.median:.2f} Gbit/s; "
                "the client's address "
                f"{'kept' if keeps else 'lost (seen as ' + str(seen) + ')'}", r >= 1.0 and keeps)
        else:
            add("published-port throughput >= 1.0x RootlessKit's builtin driver, keeping the client's address",
                "", None)
    else:
        add("published-port throughput >= 1.0x RootlessKit's builtin driver, keeping the client's address", "", None)
    worst = None
    for line in report_tap.CPU_BULK:
        row = tap["cpu"].get(line, {}) if tap else {}
        if "netd" in row and report_tap.ANCHOR in row and row[report_tap.ANCHOR].median > 0:
            r = row["netd"].median / row[report_tap.ANCHOR].median
            if worst is None or r > worst[0]:
                worst = (r, line)
    if worst:
        add("CPU per GB <= 0.8x pasta (the worst of the single-stream TCP lines)",
            f"{fmt_goal_ratio(worst[0], 0.8)} on {report_tap.LINE_LABEL[worst[1]]}", worst[0] <= 0.8)
    else:
        add("CPU per GB <= 0.8x pasta (the worst of the single-stream TCP lines)", "", None)
    if dns:
        nq, aq = report_dns.stat(dns, "netd", "local", "qps"), report_dns.stat(dns, "aardvark13", "local", "qps")
        nl, al = report_dns.stat(dns, "netd", "local", "lat"), report_dns.stat(dns, "aardvark13", "local", "lat")
        if nq and aq and nl and al:
            rq, rl = nq.median / aq.median, nl.median / al.median
            add(f"DNS local names >= 2x aardvark-dns {short_version(facts.get('aardvark13')).split()[0]}'s rate at "
                "<= 0.5x its latency",
                f"{fmt_goal_ratio(rq, 2.0)} the rate ({nq.median:,.0f} vs {aq.median:,.0f} queries/s), "
                f"{fmt_goal_ratio(rl, 0.5)} the latency at "
                f"{dns['light_qps']} queries/s ({nl.median:.0f} vs {al.median:.0f} us)", rq >= 2.0 and rl <= 0.5)
        else:
            add("DNS local names >= 2x aardvark-dns 1.14's rate at <= 0.5x its latency", "", None)
    else:
        add("DNS local names >= 2x aardvark-dns 1.14's rate at <= 0.5x its latency", "", None)
    worst = None
    for mid in report_tap.BULK:
        n, b = stat(t.get(mid, {}).get("netd")), stat(t.get(mid, {}).get("netd-base"))
        if n and b and b.median > 0:
            r = n.median / b.median
            if worst is None or r < worst[0]:
                worst = (r, mid, n, b)
    if worst:
        r, mid, n, b = worst
        overlap = "the ranges overlap" if n.high >= b.low and b.high >= n.low else "the ranges do not overlap"
        add(f"no TCP bulk line below the baseline ({facts.get('baseline', '?')[:9]}; a line below "
            f"{BULK_TOLERANCE:.2f}x counts)",
            f"lowest {fmt_goal_ratio(r, BULK_TOLERANCE)}, on {report_tap.LINE_LABEL[mid]}: netd {n.median:.2f} "
            f"({n.low:.2f}-{n.high:.2f}), baseline {b.median:.2f} ({b.low:.2f}-{b.high:.2f}) Gbit/s; {overlap}",
            r >= BULK_TOLERANCE)
    else:
        add("no TCP bulk line below the baseline", "", None)
    add(*report_streams.goal(streams))
    return out


def load_records(sections, watch):
    """Every line record of the sections, and the load table's rows."""
    rows, records = [], []
    for name, sdir, label_of in sections:
        recs = line_records(sdir, watch)
        records += recs
        rows += load_rows(name, recs, label_of)
    return records, rows


def load_verdict(records):
    """One sentence for the page's head: how busy the rest of the machine was."""
    others = [r["others"] for r in records if r["others"] is not None]
    if not others:
        return "no CPU samples of the rest of the machine"
    busy = sum(1 for o in others if o > BUSY_CPUS)
    if not busy:
        return f"the rest of the machine was quiet (at most {max(others):.2f} CPUs during any line)"
    return (f"**the rest of the machine was busy during {busy} of {len(others)} measured lines** (up to "
            f"{max(others):.2f} CPUs; see \"Machine load\")")


def load_section(records, rows):
    """The machine-load part of the page: a computed summary and a table per line."""
    if not records:
        return ["## Machine load", "", "No line records (lines.tsv) in this run.", ""]
    others = [r["others"] for r in records if r["others"] is not None]
    busy = [r for r in records if r["others"] is not None and r["others"] > BUSY_CPUS]
    loads = [x for r in records for x in (r["load0"], r["load1"])]
    steal = [r["steal"] for r in records if r["steal"] is not None]
    lines = ["## Machine load", ""]
    if others:
        worst = max(records, key=lambda r: r["others"] if r["others"] is not None else -1)
        lines.append(
            f"While the {len(records)} measured lines ran, the rest of the machine (every process outside this "
            f"run, sampled each second by bench/cpu_watch.py; kernel threads left out) used on average "
            f"{sum(others) / len(others):.2f} CPUs; during {len(busy)} line(s) it used more than {BUSY_CPUS} "
            f"CPUs, at most {worst['others']:.2f} (during {worst['line']} of {worst['tool']}, round "
            f"{worst['round']}). The 1-minute load average ranged from {min(loads):.2f} to {max(loads):.2f}"
            + (f"; the hypervisor's steal time averaged {sum(steal) / len(steal):.2f} CPUs." if steal else ".")
            + (" The machine was otherwise quiet." if not busy else
               " Numbers from lines marked as disturbed below are worth repeating on a quiet machine."))
    else:
        lines.append(f"No CPU samples of the rest of the machine; the 1-minute load average ranged from "
                     f"{min(loads):.2f} to {max(loads):.2f}.")
    lines += ["", md_table(["section", "line", "measurements", "1-min load (all of them, start and end)",
                            "others' CPUs, mean / max", f"disturbed (> {BUSY_CPUS} CPUs)"], rows), ""]
    return lines


def provenance(facts, sections_run, verdict):
    dirty = int(facts.get("dirty_files", "0") or 0)
    lines = [
        "# Benchmarks: netd next to its peers",
        "",
        "Generated by `bench/run.sh` (bench/README.md says how and what each line means) from one run on one "
        "machine; every figure and every sentence with a figure below is computed from that run's results "
        "by bench/report.py. Absolute numbers on a shared machine move between runs: compare tools within "
        "the run (the ratios), and see \"Machine load\" for how busy the machine was.",
        "",
        f"- Commit: {facts.get('commit', '?')} ({facts.get('netd', '?')})"
        + (f"; **the tree had {dirty} uncommitted change(s) (--allow-dirty): these numbers do not describe "
           "that commit alone**" if dirty else "; a clean tree"),
        f"- Date: {facts.get('date', '?')}; measuring took {facts.get('elapsed', '?')} s, the whole run "
        f"{facts.get('total_s', '?')} s with the builds and installs",
        f"- Command: `{facts.get('command', 'bench/run.sh')}`",
        f"- Machine: {facts.get('cpu', '?')}, {facts.get('cpus', '?')} CPUs, {facts.get('mem', '?')}, Linux "
        f"{facts.get('kernel', '?')}, {facts.get('os', '?')}; load average {facts.get('load', '?')} at the "
        f"start, {facts.get('load_end', '?')} at the end; {verdict}",
        f"- Peers: slirp4netns {facts.get('slirp4netns', '?')}; pasta {facts.get('pasta12', '?')} and "
        f"{facts.get('pasta13', '?')}; aardvark-dns {facts.get('aardvark12', '?')} and "
        f"{facts.get('aardvark13', '?')}; rootlesskit {facts.get('rootlesskit', '?')}; podman "
        f"{facts.get('podman4', '?')} and {facts.get('podman5', '?')}; {facts.get('iperf3', '?')}; dnsperf "
        f"{facts.get('dnsperf', '?')}",
    ]
    if "pasta-new" in facts:
        lines.append(f"- pasta-new: {facts['pasta-new']}")
    if "baseline" in facts:
        lines.append(f"- Baseline netd (netd-base): {facts['baseline']}")
    lines.append(f"- {facts.get('rounds', '?')} round(s) per line"
                 + (" (--quick: one round of short lines; a look while developing, not figures to quote)"
                    if facts.get("quick") == "1" else ""))
    if facts.get("full") != "1":
        lines.append(f"- A partial run: sections {facts.get('sections', '?').strip()}; tap lines "
                     f"{facts.get('tap_lines', '?')}; tools {facts.get('tools', '?')} (not what docs/ shows)")
    missing = [s for s in ("tap", "streams", "ports", "dns", "podman", "podman5") if s not in sections_run]
    if missing:
        lines.append(f"- Not measured in this run: {', '.join(missing)}")
    lines.append("")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--md")
    ap.add_argument("--png")
    a = ap.parse_args()
    res = a.results
    facts = read_facts(os.path.join(res, "facts.txt"))
    watch = CpuWatch(os.path.join(res, "cpu_watch.tsv"))

    def sdir(name):
        d = os.path.join(res, name)
        return d if os.path.isdir(d) else None

    def sfacts(name):
        return read_facts(os.path.join(res, name, "facts.txt"))

    tap = report_tap.collect(sdir("tap"), facts) if sdir("tap") else None
    streams = report_streams.collect(sdir("streams"), facts) if sdir("streams") else None
    ports = report_ports.collect(sdir("ports"), facts) if sdir("ports") else None
    dns = report_dns.collect(sdir("dns"), facts) if sdir("dns") else None
    pod4 = report_podman.collect(sdir("podman"), report_podman.PODMAN4) if sdir("podman") else None
    pod5 = report_podman.collect(sdir("podman5"), report_podman.PODMAN5) if sdir("podman5") else None

    for name, data, text in (("tap", tap, lambda d: report_tap.text(d, facts)),
                             ("streams", streams, lambda d: report_streams.text(d, facts)),
                             ("ports", ports, lambda d: report_ports.text(d, facts)),
                             ("dns", dns, lambda d: report_dns.text(d, facts)),
                             ("podman", pod4, report_podman.text), ("podman5", pod5, report_podman.text)):
        if data:
            print(f"== {name}")
            print("\n".join(text(data)))
            print()
    goals = goal_rows(tap, ports, dns, facts, streams)
    print("== goals")
    for g, m, ok in goals:
        print(f"{ok:4} {g}: {m}")

    png_name = None
    if a.png and tap:
        try:
            if report_tap.draw(a.png, tap, facts):
                png_name = os.path.basename(a.png)
                print(f"chart: {a.png}")
        except ImportError as e:
            print(f"report: no chart ({e}); install python3-matplotlib", file=sys.stderr)
    if not a.md:
        return
    run = [s for s in ("tap", "streams", "ports", "dns", "podman", "podman5") if sdir(s)]
    label_of = {"tap": lambda line: report_tap.LINE_LABEL.get(line, line)}
    records, load_table = load_records([(s, sdir(s), label_of.get(s, lambda line: line)) for s in run], watch)
    lines = provenance(facts, run, load_verdict(records))
    met = sum(1 for _g, _m, ok in goals if ok == "yes")
    judged = sum(1 for _g, _m, ok in goals if ok in ("yes", "no"))
    lines += ["## Goals", "",
              f"The goals of the second round of performance work, measured in this run: {met} of {judged} "
              "judged goal(s) met" + (f", {len(goals) - judged} not measured" if judged < len(goals) else "")
              + ". \"pasta\" is today's, " + report_tap.label(report_tap.ANCHOR, facts)
              + "; \"best peer\" the best of slirp4netns and the pastas on that line.", "",
              md_table(["goal", "measured", "met"], goals), ""]
    missed = [(g, limit_of(g)) for g, _m, ok in goals if ok == "no"]
    if missed:
        lines += ["What limits each goal this run missed:", ""]
        lines += [f"- {g}: {why or 'not yet known.'}" for g, why in missed] + [""]
    if tap:
        lines += report_tap.section(tap, facts, sdir("tap"), started(sdir("tap")), png_name)
    if streams:
        lines += report_streams.section(streams, facts, started(sdir("streams")))
    if ports:
        lines += report_ports.section(ports, facts, started(sdir("ports")))
    if dns:
        lines += report_dns.section(dns, facts, sfacts("dns"), started(sdir("dns")))
    if pod4:
        lines += report_podman.section4(pod4, facts)
    if pod5:
        lines += report_podman.section5(pod5, facts)
    lines += load_section(records, load_table)
    for name in run:
        f = sfacts(name)
        if "status" in f:
            lines += [f"Section {name} {f['status']}: what it measured is shown.", ""]
    with open(a.md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    print(f"report: {a.md}")


if __name__ == "__main__":
    main()
