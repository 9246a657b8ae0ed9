#!/usr/bin/python3
"""bench/cpu_watch.py: how much CPU the rest of the machine used during a run.

Usage: cpu_watch.py RUN_PID OUT [INTERVAL]

Theory of operation. bench/run.sh starts this outside the benchmark's
namespaces, where every process of the machine is visible. Every INTERVAL
seconds (default 1) it reads /proc/PID/stat of every process and sorts each
into one of three kinds: the run's own (RUN_PID and its descendants: the
namespaces' processes are among them), kernel threads (children of
kthreadd, pid 2: they also carry the run's own network work, so they are
shown apart), and others (everything else: builds and tests of other
people). It appends one line to OUT per sample, with cumulative CPU seconds:

    TIME OTHERS_S KTHREADS_S STEAL_S LOAD1

(TIME in seconds since the epoch; STEAL_S from /proc/stat: time the
hypervisor gave to other guests). bench/report.py takes the difference of
two samples around each measured line.

A process's CPU is utime + stime + cutime + cstime, so the time of a child
that lived and died between two samples is still found in its parent's
cutime; the last total seen of a process that vanished is taken off the
growth of its nearest living ancestor (whose cutime it joined), so nothing
is counted twice; and no interval counts more than the machine's busy time
(/proc/stat) in it. It ends when RUN_PID does.
"""
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def read_procs():
    """{pid: (ppid, ticks)} for every process now readable."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        rest = raw[raw.rfind(b")") + 2:].split()
        # rest[0] is field 3 (state): ppid is field 4, utime..cstime 14..17
        procs[int(name)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    return procs


def kind_of(pid, procs, run_pid, memo):
    """'own', 'kthread' or 'other', following parents up to pid 1 or 2."""
    chain = []
    p = pid
    kind = "other"
    while p in procs:
        if p in memo:
            kind = memo[p]
            break
        if p == run_pid:
            kind = "own"
            break
        if p == 2:
            kind = "kthread"
            break
        chain.append(p)
        ppid = procs[p][0]
        if ppid in (0, p):
            break
        p = ppid
    for c in chain:
        memo[c] = kind
    return kind


def stat_ticks():
    """(busy, steal) ticks of the whole machine so far, from /proc/stat's cpu line."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    busy = sum(fields[0:3]) + sum(fields[5:7])
    return busy, (fields[7] if len(fields) > 7 else 0)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    run_pid, out = int(sys.argv[1]), sys.argv[2]
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    last = read_procs()
    last_kind = {}
    memo = {}
    for pid in last:
        last_kind[pid] = kind_of(pid, last, run_pid, memo)
    busy_last, steal0 = stat_ticks()
    others = kthreads = 0
    with open(out, "a", buffering=1) as f:
        while os.path.exists(f"/proc/{run_pid}"):
            now = read_procs()
            memo = {}
            grow = {"own": 0, "kthread": 0, "other": 0}
            for pid, (ppid, ticks) in now.items():
                kind = last_kind.get(pid) if pid in last else kind_of(pid, now, run_pid, memo)
                last_kind[pid] = kind
                grow[kind] += ticks - (last[pid][1] if pid in last else 0)
            for pid, (ppid, ticks) in last.items():
                if pid in now:
                    continue
                # Gone: its total has moved into the cutime of the nearest
                # ancestor still alive (a chain of processes can end within
                # one interval: make -> sh -> compiler), already counted.
                while ppid not in now and ppid in last and ppid != last[ppid][0]:
                    ppid = last[ppid][0]
                if ppid in now:
                    grow[last_kind.get(ppid, "other")] -= ticks
                last_kind.pop(pid, None)
            # (never more than the machine was busy: an accounting slip, e.g.
            # a reparented process, must not invent CPUs)
            busy, steal = stat_ticks()
            others += min(max(grow["other"], 0), busy - busy_last)
            kthreads += max(grow["kthread"], 0)
            busy_last = busy
            with open("/proc/loadavg") as lf:
                load1 = lf.read().split()[0]
            f.write(f"{time.time():.3f} {others / HZ:.2f} {kthreads / HZ:.2f} "
                    f"{(steal - steal0) / HZ:.2f} {load1}\n")
            last = now
            time.sleep(interval)


if __name__ == "__main__":
    main()
