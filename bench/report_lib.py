"""bench/report_lib.py: what every section of the benchmark page shares.

Theory of operation. A measurement repeated over rounds becomes a Stat
(median, lowest, highest, count); a measurement that never succeeded is a
reason string instead, shown as "n/a [k]" with the reason in a numbered
note. Cells print the median and, with more than one round, the spread
"(lowest-highest)". Ratios always divide medians. Nothing here knows a
section; bench/report_*.py build their tables from these pieces and
bench/report.py assembles the page.
"""
import bisect
import json
import os
import re
import statistics

# A line counts as disturbed when the rest of the machine used more than
# this many CPUs on average while it ran (bench/cpu_watch.py's samples).
BUSY_CPUS = 0.25


class Stat:
    """Rounds of one measurement: median, lowest, highest, count, and an
    optional note (e.g. retransmits) of the median round."""

    def __init__(self, values, note=""):
        self.values = sorted(values)
        self.median = statistics.median(self.values)
        self.low = self.values[0]
        self.high = self.values[-1]
        self.n = len(self.values)
        self.note = note

    def cell(self, fmt):
        text = fmt(self.median)
        if self.n > 1:
            text += f" ({fmt(self.low)}-{fmt(self.high)})"
        if self.note:
            text += f"; {self.note}"
        return text


def stat_of(results, note_of=None):
    """A Stat from a list of per-round results, each a number, a (number,
    note) tuple, or a reason string; the first reason when none succeeded,
    "not measured" for an empty list. The note is the median round's."""
    ok = [r for r in results if not isinstance(r, str)]
    if not ok:
        return results[0] if results else "not measured"
    pairs = sorted((r if isinstance(r, tuple) else (r, "")) for r in ok)
    mid = pairs[(len(pairs) - 1) // 2][1]
    return Stat([p[0] for p in pairs], note_of(mid) if note_of else mid)


def ratio(a, b):
    """a/b of two Stats' medians, or None."""
    if isinstance(a, Stat) and isinstance(b, Stat) and b.median > 0:
        return a.median / b.median
    return None


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}x"


def fmt_goal_ratio(r, limit):
    """r as "N.NNx" for a goal whose limit is `limit`; with more decimals
    (up to six) when two would round it onto the limit, so that a verdict
    never contradicts its figure (1.495 against 1.5 reads "1.495x", not
    "1.50x")."""
    for digits in range(2, 7):
        text = f"{r:.{digits}f}"
        if float(text) != limit or r == limit:
            break
    return text + "x"


def num(v, digits=None):
    """A number as the tables print it: 3 significant figures or so."""
    if digits is not None:
        return f"{v:.{digits}f}"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


class Notes:
    """Numbered reasons for n/a cells."""

    def __init__(self):
        self.items = []

    def ref(self, who, reason):
        text = reason if reason.startswith(who + " ") or not who else f"{who}: {reason}"
        if text not in self.items:
            self.items.append(text)
        return f"n/a [{self.items.index(text) + 1}]"

    def cell(self, who, v, fmt):
        return v.cell(fmt) if isinstance(v, Stat) else self.ref(who, v)

    def md(self):
        if not self.items:
            return []
        return ["n/a reasons:", ""] + [f"{i}. {n}" for i, n in enumerate(self.items, 1)] + [""]

    def text(self):
        return [f"[{i}] {n}" for i, n in enumerate(self.items, 1)]


def short_version(v):
    """A Debian package version as people say it: "1.14.0-3 (Debian 13)" ->
    "1.14.0 (Debian 13)"; passt's "0.0~git20250503.587980c-2 (...)" ->
    "2025-05-03 (...)"; anything else as it is."""
    if not v:
        return "?"
    tail = v[v.index(" ("):] if " (" in v else ""
    head = v[: len(v) - len(tail)].split()[-1] if v[: len(v) - len(tail)].split() else v
    m = re.search(r"git(\d{4})(\d{2})(\d{2})", head)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}{tail}"
    m = re.match(r"\d+(\.\d+)*", head)
    return (m.group(0) if m else head) + tail


def read_text(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return default


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_facts(path):
    """key=value lines (the last of a key wins)."""
    facts = {}
    text = read_text(path, "")
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            facts[k] = v
    return facts


def rounds_of(directory, stem, ext=".json"):
    """The round files DIR/STEM.rN.EXT, sorted by N, as paths without EXT."""
    out = []
    if not os.path.isdir(directory):
        return out
    prefix = stem + ".r"
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(ext) and name[len(prefix):-len(ext)].isdigit():
            out.append((int(name[len(prefix):-len(ext)]), os.path.join(directory, name[: -len(ext)])))
    return [p for _, p in sorted(out)]


def started(section_dir):
    """[(tool, mtu, command)] from a section's started.tsv, first occurrence each."""
    seen, out = set(), []
    for line in (read_text(os.path.join(section_dir, "started.tsv"), "") or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and tuple(parts) not in seen:
            seen.add(tuple(parts))
            out.append(tuple(parts))
    return out


def table_text(rows_fn, data):
    """A section's table for stdout: rows_fn(data, notes) -> (header, rows)."""
    notes = Notes()
    header, rows = rows_fn(data, notes)
    return [text_table(header, rows)] + notes.text()


def commands_md(who, started_rows):
    """The Markdown table of the command lines a section started (empty without any)."""
    if not started_rows:
        return []
    return [f"| {who} | command |", "|---|---|"] + [f"| {t} | `{c}` |" for t, _m, c in started_rows] + [""]


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).ljust(w) for c, w in zip(r, widths))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


# --- machine load -----------------------------------------------------------

class CpuWatch:
    """bench/cpu_watch.py's cumulative samples, interpolated in time."""

    def __init__(self, path):
        self.t, self.others, self.steal = [], [], []
        for line in (read_text(path, "") or "").splitlines():
            f = line.split()
            if len(f) >= 4:
                self.t.append(float(f[0]))
                self.others.append(float(f[1]))
                self.steal.append(float(f[3]))

    def _at(self, series, t):
        if not self.t:
            return None
        if t <= self.t[0]:
            return series[0]
        if t >= self.t[-1]:
            return series[-1]
        i = bisect.bisect_right(self.t, t)
        t0, t1 = self.t[i - 1], self.t[i]
        return series[i - 1] + (series[i] - series[i - 1]) * (t - t0) / (t1 - t0)

    def cpus(self, t0, t1, series="others"):
        """Average CPUs the rest of the machine used (or steal took) in [t0, t1]."""
        s = self.others if series == "others" else self.steal
        a, b = self._at(s, t0), self._at(s, t1)
        if a is None or t1 <= t0 or not (self.t[0] - 2 <= t0 and t1 <= self.t[-1] + 2):
            return None
        return max(b - a, 0.0) / (t1 - t0)


def line_records(section_dir, watch):
    """[{line, tool, round, t0, t1, load0, load1, others}] from lines.tsv."""
    out = []
    for line in (read_text(os.path.join(section_dir, "lines.tsv"), "") or "").splitlines():
        f = line.split("\t")
        if len(f) != 7:
            continue
        t0, t1 = float(f[3]), float(f[4])
        out.append({"line": f[0], "tool": f[1], "round": f[2], "t0": t0, "t1": t1,
                    "load0": float(f[5]), "load1": float(f[6]),
                    "others": watch.cpus(t0, t1), "steal": watch.cpus(t0, t1, "steal")})
    return out


def load_rows(section, records, label_of=lambda line: line):
    """Rows (section, line, measurements, 1-min load range, others' CPUs
    mean/max, disturbed count) per line, in first-seen order."""
    by_line = {}
    for r in records:
        by_line.setdefault(r["line"], []).append(r)
    rows = []
    for line, recs in by_line.items():
        loads = [x for r in recs for x in (r["load0"], r["load1"])]
        others = [r["others"] for r in recs if r["others"] is not None]
        busy = sum(1 for o in others if o > BUSY_CPUS)
        rows.append([section, label_of(line), str(len(recs)), f"{min(loads):.2f}-{max(loads):.2f}",
                     f"{statistics.mean(others):.2f} / {max(others):.2f}" if others else "n/a",
                     f"{busy} of {len(others)}" if others else "n/a"])
    return rows
