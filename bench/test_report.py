#!/usr/bin/python3
"""bench/test_report.py: checks of the page generator on a made-up run.

Theory of operation. Builds a small results directory by hand, as the
measuring halves would leave it (facts, per-round raw files with known
values, line records, CPU samples), runs bench/report.py on it, and checks
what the page must say: medians and spreads of the rounds, ratios of
medians, the goals judged from those numbers (met and not met), the
offload labels, the machine-load summary, provenance (dirty tree, partial
run), and that a missing section shows as not measured. Also checks
common.sh's rotate. Exits non-zero on the first failed check. Run by ctest
(bench.report) and by hand: /usr/bin/python3 bench/test_report.py
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def iperf(gbit, retr=0):
    return json.dumps({"end": {"sum_received": {"bits_per_second": gbit * 1e9, "bytes": 3e9},
                               "sum_sent": {"retransmits": retr}}})


def rr(p50, p99, p999, cps=None):
    d = {"n": 1000, "p50_us": p50, "p99_us": p99, "p999_us": p999, "mean_us": p50}
    if cps:
        d["cps"] = cps
    return json.dumps(d)


def make_run(root):
    write(f"{root}/facts.txt", "\n".join([
        "date=2026-01-01 00:00 UTC", "commit=abc", "netd=abc-dirty (Release)", "dirty_files=2", "cpus=2",
        "tools=loopback netd netd-epoll netd-base slirp4netns pasta13", "rounds=3", "udp_rate=200M", "quick=0", "full=0",
        "sections=tap", "pasta13=passt 0.0~git20250503.587980c-2 (Debian 13)", "baseline=def0123456789",
        "n_idle=1000", "elapsed=100", "total_s=200"]) + "\n")
    raw = f"{root}/tap/raw"
    # TCP c->h 65520: netd rounds 10, 12, 11 (median 11, range 10-12); pasta13 5, 6, 4; base 12, 12, 12;
    # netd on epoll 8.8 (0.80x netd).
    for tool, vals in (("netd", (10, 12, 11)), ("pasta13", (5, 6, 4)), ("netd-base", (12, 12, 12)),
                       ("slirp4netns", (2, 2, 2)), ("loopback", (20, 20, 20)), ("netd-epoll", (8.8, 8.8, 8.8))):
        for r, v in enumerate(vals, 1):
            write(f"{raw}/{tool}/tcp_c2h_65520.r{r}.json", iperf(v, 3 if tool == "pasta13" else 0))
            if tool != "loopback":
                write(f"{raw}/{tool}/tcp_c2h_65520.r{r}.cpu", "0.5\n" if tool == "netd" else "1.0\n")
    # MTU 1500: netd has offloads, pasta13 not.
    for tool, on in (("netd", "on"), ("pasta13", "off")):
        write(f"{raw}/{tool}/link.1500.txt", f"tun type tap pi off vnet_hdr {on} persist off\n")
        write(f"{raw}/{tool}/tcp_c2h_1500.r1.json", iperf(3 if on == "on" else 1))
    # UDP p99: netd 60, best peer slirp4netns 40 -> 1.50x, not met. TCP p99: netd 30, best 40 -> 0.75x, met.
    for tool, (tp99, up99) in (("netd", (30, 60)), ("slirp4netns", (45, 40)), ("pasta13", (40, 50))):
        write(f"{raw}/{tool}/tcp_rr.r1.json", rr(20, tp99, tp99 * 2))
        write(f"{raw}/{tool}/udp_rr.r1.json", rr(20, up99, up99 * 2))
    # conn/s: netd 3000, pasta13 1000 -> 3.00x, met.
    write(f"{raw}/netd/tcp_crr.r1.json", rr(300, 400, 500, cps=3000))
    write(f"{raw}/pasta13/tcp_crr.r1.json", rr(900, 1000, 1100, cps=1000))
    # RSS: netd +3000 KiB for 1000 flows -> 3 KiB per flow, not met.
    write(f"{raw}/netd/tcp_idle.r1.json", json.dumps({"flows": 1000, "rss_before_kib": 5000, "rss_after_kib": 8000}))
    # slirp4netns never started at MTU 1500.
    write(f"{raw}/slirp4netns/tcp_c2h_1500.err", "slirp4netns did not start: not ready within 10 s\n")
    # Line records: one line disturbed (others used 1 CPU), one quiet.
    write(f"{root}/tap/lines.tsv", "tcp_c2h_65520\tnetd\t1\t1000.0\t1010.0\t0.50\t0.70\n"
                                   "tcp_rr\tnetd\t1\t1020.0\t1030.0\t0.70\t0.80\n")
    # Several streams: 4 streams container->host netd-q2 17 vs loopback 20 (0.85x), host->container 15 vs
    # 20 (0.75x): the goal is not met; netd-q4 never started.
    for tool, c2h, h2c in (("loopback", 20, 20), ("netd-q2", 17, 15), ("netd", 9, 8)):
        for n in (1, 2, 4):
            write(f"{root}/streams/raw/{tool}/c2h_p{n}.r1.json", iperf(c2h * n / 4))
            write(f"{root}/streams/raw/{tool}/h2c_p{n}.r1.json", iperf(h2c * n / 4))
    for line in ("c2h_p1", "c2h_p2", "c2h_p4", "h2c_p1", "h2c_p2", "h2c_p4"):
        write(f"{root}/streams/raw/netd-q4/{line}.err", "netd-q4 did not start: not ready within 10 s\n")
    write(f"{root}/cpu_watch.tsv", "".join(f"{t} {min(t - 1000, 10) if t <= 1010 else 10:.2f} 0 0 0.5\n"
                                           for t in range(995, 1036)))


def main():
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        make_run(tmp)
        md = os.path.join(tmp, "page.md")
        out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "report.py"), tmp, "--md", md],
                             capture_output=True, text=True)
        check(out.returncode == 0, f"report.py exit {out.returncode}: {out.stderr}")
        page = open(md, encoding="utf-8").read() if os.path.exists(md) else ""
        check("| 11.00 (10.00-12.00) |" in page, "median with the rounds' range: 11.00 (10.00-12.00)")
        check("| 5.00 (4.00-6.00); 3 retr |" in page, "the median round's retransmits")
        check("| 2.20x |" in page, "ratio of medians netd/pasta13 = 11/5 = 2.20x")
        check("| netd-epoll/netd |" in page and "| 0.80x |" in page, "the epoll line's ratio to netd: 8.8/11 = 0.80x")
        check("- netd-epoll: netd on its epoll loop (NETD_EVENT_LOOP=epoll)" in page and
              "the netd-epoll/netd column is what such a host costs" in page, "the epoll line is named and explained")
        check("| UDP request/response p99 <= 1.0x the best peer | 1.50x: netd 60.0 us, best peer slirp4netns"
              in page and "40.0 us | no |" in page, "UDP p99 goal: 1.50x, not met")
        check("| TCP request/response p99 <= 1.0x the best peer | 0.75x" in page, "TCP p99 goal: 0.75x")
        check("| connections/s >= 1.5x pasta | 3.00x: netd 3,000/s" in page, "conn/s goal 3.00x")
        check("| <= 2 KiB RSS per idle TCP flow | 3.00 KiB per flow (3,000 KiB per 1000) | no |" in page,
              "RSS goal: 3.00 KiB per flow, not met")
        check("CPU per GB <= 0.8x pasta (the worst of the single-stream TCP lines) | 0.50x on TCP container->host, "
              "MTU 65520 | yes |" in page, "CPU per GB goal 0.50x")
        check("lowest 0.92x, on TCP container->host, MTU 65520: netd 11.00 (10.00-12.00), baseline 12.00 "
              "(12.00-12.00) Gbit/s; the ranges overlap | no |" in page,
              "bulk vs baseline 11/12 = 0.92x, with both ranges (10-12 reaches 12: they overlap)")
        check("- no TCP bulk line below the baseline (def012345; a line below 0.95x counts): one bulk line's rounds"
              in page, "the bulk goal's limit line is words, not 'not yet known'")
        check("| published-port throughput >= 1.0x RootlessKit's builtin driver, keeping the client's address | "
              "not measured | n/a |" in page, "a section not run: its goal not measured")
        check("3 of 7 judged goal(s) met, 2 not measured" in page, "the goals' count")
        check("| 4 streams >= 0.8x loopback's 4-stream figure (netd --queues 2, each direction) | container->host "
              "0.85x (17.00 vs 20.00 Gbit/s); host->container 0.75x (15.00 vs 20.00 Gbit/s) | no |" in page,
              "the streams goal from the data: 0.85x and 0.75x, not met")
        check("## Several streams" in page and "| netd-q2 | 4.25 | 8.50 | 17.00 | 3.75 | 7.50 | 15.00 | 0.85x | 0.75x |"
              in page, "the streams table: every count of streams, and the 4-stream ratios")
        check("netd-q4 did not start" in page, "a streams tool that did not start: its reason")
        check("MTU 1500 (offloads: netd)" in page, "MTU 1500 lines name the tools with offloads")
        check("n/a [1]" in page and "1. slirp4netns did not start: not ready within 10 s" in page,
              "a tool that did not start: n/a with its reason")
        check("the tree had 2 uncommitted change(s)" in page, "a dirty tree is said")
        check("A partial run" in page, "a partial run is said")
        check("Not measured in this run: ports, dns, podman, podman5" in page, "the sections left out")
        check("during 1 line(s) it used more than 0.25 CPUs, at most 1.00" in page, "machine load summary")
        check("pasta 2025-05-03 (Debian 13)" in page, "pasta's version as a date")

    sys.path.insert(0, HERE)
    from report_lib import fmt_goal_ratio
    for r, limit, want in ((1.4951, 1.5, "1.495x"), (1.4997, 1.5, "1.4997x"), (1.5, 1.5, "1.50x"),
                           (0.79999, 0.8, "0.79999x"), (1.004, 1.0, "1.004x"), (2.345, 1.5, "2.35x")):
        got = fmt_goal_ratio(r, limit)
        check(got == want, f"fmt_goal_ratio({r}, {limit}) = {got}, not {want}")

    rot = subprocess.run(["bash", "-c", f"source {HERE}/common.sh; rotate 0 a b c; rotate 1 a b c; rotate 4 a b c"],
                         capture_output=True, text=True).stdout.split("\n")
    check([r.strip() for r in rot[:3]] == ["a b c", "b c a", "b c a"], f"rotate: {rot}")

    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        return 1
    print("ok: report.py on a made-up run, and rotate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
