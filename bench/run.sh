#!/usr/bin/env bash
# bench/run.sh: the one command behind docs/benchmarks.md. It measures netd
# side by side with its peers (slirp4netns, Debian 12's and Debian 13's
# pasta, RootlessKit, aardvark-dns 1.4 and 1.14, Podman 4.3 and 5) and host
# loopback, in one run on this machine, and regenerates every section of
# the page and its chart.
#
#   bench/run.sh [--quick] [--rounds N] [--lines "LINE|SECTION ..."] [--tools "TOOL ..."]
#                [--pasta PATH] [--baseline REF|none] [--allow-dirty] [--no-docs]
#                [--runs N] [--dns-seconds N] [--udp-rate RATE]
#
#   --quick         1 round and short lines (a look while developing, ~5 min)
#   --rounds N      rounds of every line (default 3; the median is shown with
#                   the spread of the rounds)
#   --lines L       only these tap lines and/or sections (tap streams ports dns
#                   podman podman5; a tap line name selects the tap section)
#   --tools T       only these tools in the tap section (loopback netd
#                   netd-epoll netd-nooffload netd-pasta slirp4netns pasta12
#                   pasta13 netd-base; pasta-new comes with --pasta)
#   --pasta PATH    also a pasta build of your own ("pasta-new"), run as PATH
#                   (a symlink named pasta stays pasta)
#   --baseline REF  the commit whose netd is the bulk lines' baseline
#                   ("netd-base"; default below); none: no baseline
#   --allow-dirty   measure a tree with uncommitted changes (the page says so)
#   --no-docs       leave docs/ alone (the page is still written to the
#                   results directory)
#   --runs N        `podman run`s per tool in the Podman sections (default 10)
#   --dns-seconds N dnsperf seconds per DNS pass (default 3)
#   --udp-rate R    the UDP line's offered rate, iperf3 -b (default 200M)
#
# Theory of operation: the driver outside the namespaces.
#  1. Refuse a dirty tree (unless --allow-dirty); install the packages
#     (scripts/install-deps.sh, with the Debian 13 root; bench/install-deps.sh);
#     build netd and the probe in Release (build-bench/), and the baseline
#     commit's netd from `git archive` (build-bench/base/).
#  2. Start bench/cpu_watch.py, which samples, outside the namespaces, the
#     CPU every other process of the machine uses, for the load record.
#  3. Run each section's measuring half in namespaces of its own
#     (tests/integration/lib.sh), bounded by a time limit: tap_measure.sh
#     (the tap lines), streams_measure.sh (1, 2 and 4 parallel streams),
#     ports_measure.sh, dns_measure.sh, podman_measure.sh,
#     podman5_measure.sh. Results: build-bench/bench-results/DATE/SECTION/.
#  4. bench/report.py, the one generator of the page: tables on stdout,
#     DATE/benchmarks.md and its chart, copied to docs/ when the run
#     measured everything (every section, line and tool, at least 3 rounds,
#     not --quick) and --no-docs was not given.
# Only 127.0.0.1, ::1 and namespaces made by the run carry traffic; every DNS
# upstream is one of the run's own servers. A tool that fails a measurement
# shows as "n/a (reason)"; the run goes on. Not a test; not for CI.
set -euo pipefail
CALLER_PWD=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/run.sh${*:+ $*}"
RUN_START=$(date +%s)

# The commit whose netd is "today" for the goal "no bulk line regressing":
# main when the second round of performance work began.
DEFAULT_BASELINE=1c2e2973c3a5b36665b8ecb5039045350d51715e
ALL_SECTIONS="tap streams ports dns podman podman5"
ALL_TAP_LINES="tcp_c2h_65520 tcp_h2c_65520 tcp4_c2h_65520 udp_c2h_65520 tcp_rr udp_rr tcp_crr tcp_idle
  tcp_c2h_1500 tcp_h2c_1500"
EXTRA_TAP_LINES="tcp6_c2h_65520 tcp6_h2c_65520"  # only when named
ALL_TOOLS="loopback netd netd-epoll netd-nooffload netd-pasta slirp4netns pasta12 pasta13 netd-base"

QUICK=0
ROUNDS=""
PASTA_NEW=""
TOOLS=$ALL_TOOLS
LINES=""
DOCS=1
DIRTY_OK=0
BASELINE=$DEFAULT_BASELINE
RUNS=""
DNS_SECONDS=""
UDP_RATE=200M
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    --pasta)
      # Absolute, but symlinks kept: passt picks its mode from its name.
      PASTA_NEW=${2:?--pasta needs a path}
      [[ "$PASTA_NEW" == /* ]] || PASTA_NEW=$CALLER_PWD/$PASTA_NEW
      shift
      ;;
    --tools) TOOLS=${2:?--tools needs a list}; shift ;;
    --lines) LINES=${2:?--lines needs a list}; shift ;;
    --baseline) BASELINE=${2:?--baseline needs a commit or none}; shift ;;
    --allow-dirty) DIRTY_OK=1 ;;
    --no-docs) DOCS=0 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --dns-seconds | --seconds) DNS_SECONDS=${2:?--dns-seconds needs a number}; shift ;;
    --udp-rate) UDP_RATE=${2:?--udp-rate needs a rate}; shift ;;
    -h | --help) sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "run.sh: $*" >&2; exit 2; }
# Sections and tap lines asked for.
SECTIONS=""
TAP_LINES=""
if [[ -z "$LINES" ]]; then
  SECTIONS=$ALL_SECTIONS
  TAP_LINES=$ALL_TAP_LINES
else
  for l in $LINES; do
    if [[ " $ALL_SECTIONS " == *" $l "* ]]; then
      [[ " $SECTIONS " == *" $l "* ]] || SECTIONS+=" $l"
      [[ "$l" == tap ]] && TAP_LINES+=" $ALL_TAP_LINES"
    elif [[ " $ALL_TAP_LINES $EXTRA_TAP_LINES " == *" $l "* ]]; then
      [[ " $SECTIONS " == *" tap "* ]] || SECTIONS+=" tap"
      TAP_LINES+=" $l"
    else
      die "unknown line $l (sections: $ALL_SECTIONS; tap lines:" $ALL_TAP_LINES $EXTRA_TAP_LINES")"
    fi
  done
fi
TAP_LINES=$(xargs <<<"$TAP_LINES")  # (one line, single spaces: the measuring half matches " NAME ")
SECTIONS=$(for s in $ALL_SECTIONS; do if [[ " $SECTIONS " == *" $s "* ]]; then printf '%s ' "$s"; fi; done)
for t in $TOOLS; do
  [[ " $ALL_TOOLS " == *" $t "* ]] || die "unknown tool $t (one of: $ALL_TOOLS; pasta-new: --pasta PATH)"
done
[[ "$BASELINE" == none ]] && TOOLS=$(sed 's/\bnetd-base\b//' <<<"$TOOLS")
if [[ -n "$PASTA_NEW" ]]; then
  [[ -x "$PASTA_NEW" ]] || die "--pasta $PASTA_NEW is not executable"
  TOOLS="$TOOLS pasta-new"
fi
if ((QUICK)); then
  DUR=2 N_RR=2000 N_CRR=500
  : "${ROUNDS:=1}" "${RUNS:=3}" "${DNS_SECONDS:=2}"
else
  DUR=3 N_RR=10000 N_CRR=2000
  : "${ROUNDS:=3}" "${RUNS:=10}" "${DNS_SECONDS:=3}"
fi
N_IDLE=1000
[[ "$ROUNDS" =~ ^[1-9]$ ]] || die "--rounds takes 1..9"
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || die "--runs takes 1..99"
[[ "$DNS_SECONDS" =~ ^[1-9][0-9]?$ ]] || die "--dns-seconds takes 1..99"
[[ "$UDP_RATE" =~ ^[1-9][0-9]*[KMG]?$ ]] || die "--udp-rate takes a rate as iperf3 -b does (e.g. 200M)"
# The page goes to docs/ only from a run of everything, at least 3 rounds,
# not --quick.
FULL=0
((!QUICK && ROUNDS >= 3)) && [[ "$SECTIONS" == "$ALL_SECTIONS " && "$(tr ' ' '\n' <<<"$TAP_LINES" | sort -u | xargs)" == \
  "$(tr ' ' '\n' <<<"$ALL_TAP_LINES" | sort -u | xargs)" ]] &&
  [[ "$(tr ' ' '\n' <<<"$TOOLS" | grep -v pasta-new | sort -u | xargs)" == \
    "$(tr ' ' '\n' <<<"$ALL_TOOLS" | sort -u | xargs)" ]] && FULL=1

# 1. A clean tree of one commit, or a run that says it was not.
DIRTY=$(git status --porcelain 2>/dev/null | wc -l)
if ((DIRTY > 0 && !DIRTY_OK)); then
  git status --short >&2
  die "the tree has $DIRTY uncommitted change(s): commit them, or measure anyway with --allow-dirty (the page says so)"
fi

needs_trixie=0
[[ " $SECTIONS " == *" podman5 "* || " $SECTIONS " == *" dns "* || " $SECTIONS " == *" streams "* ||
  " $TOOLS " == *" pasta13 "* ]] && needs_trixie=1
((needs_trixie)) && scripts/install-deps.sh --with-podman5 || scripts/install-deps.sh
bench/install-deps.sh

# build DIR SRC TARGET...: a Release build with ccache (when there), quiet.
build() {
  local dir=$1 src=$2 launcher=()
  shift 2
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  CCACHE_BASEDIR=$src cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  CCACHE_BASEDIR=$src nice cmake --build "$dir" -j2 --target "$@" >/dev/null
}
t0=$(date +%s)
echo "bench: building netd and the probe (Release, build-bench/)" >&2
build build-bench "$ROOT" netd netd-bench-rr
BUILD_S=$(($(date +%s) - t0))
NETD_BASE_BIN=""
BASE_BUILD_S=0
if [[ " $TOOLS " == *" netd-base "* && " $SECTIONS " == *" tap "* ]]; then
  t0=$(date +%s)
  base=$(git rev-parse --verify "$BASELINE^{commit}") || die "--baseline $BASELINE is not a commit"
  src=$ROOT/build-bench/base/src-$base
  if [[ ! -x "$ROOT/build-bench/base/build-$base/bin/netd" ]]; then
    echo "bench: building the baseline's netd ($base, build-bench/base/)" >&2
    rm -rf "$src"
    mkdir -p "$src"
    git archive "$base" | tar -x -C "$src"
    build "$ROOT/build-bench/base/build-$base" "$src" netd
  fi
  NETD_BASE_BIN=$ROOT/build-bench/base/build-$base/bin/netd
  BASE_BUILD_S=$(($(date +%s) - t0))
fi

OUT="$ROOT/build-bench/bench-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
# shellcheck source=common.sh
source bench/common.sh

# Versions and the run's settings, for the report.
TRIXIE=${NETD_TRIXIE_ROOT:-/var/cache/netd/trixie-root}
deb() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
deb13() { dpkg-query --admindir="$TRIXIE/var/lib/dpkg" -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
{
  machine_facts
  echo "slirp4netns=$(slirp4netns --version | head -n1 | awk '{print $3}'), libslirp $(slirp4netns --version | awk '/libslirp/ {print $2}')"
  echo "pasta12=passt $(deb passt) (Debian 12)"
  echo "pasta13=passt $(deb13 passt) (Debian 13)"
  [[ -n "$PASTA_NEW" ]] && echo "pasta-new=$PASTA_NEW: $("$PASTA_NEW" --version 2>&1 | grep -v 'Failed to send' | head -n1)"
  echo "aardvark12=$(deb aardvark-dns) (Debian 12)"
  echo "aardvark13=$(deb13 aardvark-dns) (Debian 13)"
  echo "rootlesskit=$(rootlesskit --version | awk '{print $3}')"
  echo "podman4=$(deb podman) (Debian 12)"
  echo "podman5=$(deb13 podman) (Debian 13)"
  echo "dnsperf=$(dnsperf -h 2>&1 | sed -n 's/^Version //p')"
  [[ -n "$NETD_BASE_BIN" ]] && echo "baseline=$base ($(git log -1 --format='%cs %s' "$base" | cut -c1-70))"
  echo "quick=$QUICK"
  echo "rounds=$ROUNDS"
  echo "duration=$DUR"
  echo "n_rr=$N_RR"
  echo "n_crr=$N_CRR"
  echo "n_idle=$N_IDLE"
  echo "udp_rate=$UDP_RATE"
  echo "runs=$RUNS"
  echo "dns_seconds=$DNS_SECONDS"
  echo "sections=$SECTIONS"
  echo "tap_lines=$(xargs <<<"$TAP_LINES")"
  echo "tools=$(xargs <<<"$TOOLS")"
  echo "full=$FULL"
  echo "build_s=$BUILD_S"
  echo "base_build_s=$BASE_BUILD_S"
} >"$OUT/facts.txt"

MEASURE_START=$(date +%s)
# 2. The rest of the machine's CPU, sampled outside the namespaces.
/usr/bin/python3 bench/cpu_watch.py $$ "$OUT/cpu_watch.tsv" &
WATCH_PID=$!
trap 'kill "$WATCH_PID" 2>/dev/null || true' EXIT  # (it may have ended already: not a failure)

# 3. The sections, each in namespaces of its own.
echo "bench: sections: $SECTIONS; $ROUNDS round(s); results in $OUT" >&2
ntools=$(wc -w <<<"$TOOLS")
for section in $SECTIONS; do
  SECTION_OUT=$OUT/$section
  mkdir -p "$SECTION_OUT"
  echo "bench: section $section" >&2
  case $section in
    tap)
      nlines=$(wc -w <<<"$TAP_LINES")
      run_measure bench/tap_measure.sh $((120 + ROUNDS * ntools * nlines * (DUR + 12))) \
        BENCH_RR="$ROOT/build-bench/bin/netd-bench-rr" NETD_BASE_BIN="$NETD_BASE_BIN" BENCH_TOOLS="$TOOLS" \
        BENCH_LINES="$TAP_LINES" BENCH_DUR=$DUR BENCH_N_RR=$N_RR BENCH_N_CRR=$N_CRR BENCH_N_IDLE=$N_IDLE \
        BENCH_UDP_RATE=$UDP_RATE BENCH_ROUNDS=$ROUNDS BENCH_PASTA_NEW="$PASTA_NEW"
      ;;
    streams)
      # (its own tools: loopback pasta13 netd netd-q2 netd-q4; 6 lines)
      run_measure bench/streams_measure.sh $((120 + ROUNDS * 5 * 6 * (DUR + 12))) \
        BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS
      ;;
    ports)
      run_measure bench/ports_measure.sh $((120 + ROUNDS * 7 * 2 * (DUR + 12))) \
        BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS
      ;;
    dns)
      run_measure bench/dns_measure.sh $((90 + ROUNDS * 7 * 2 * (DNS_SECONDS + 10))) \
        BENCH_SECONDS=$DNS_SECONDS BENCH_ROUNDS=$ROUNDS
      ;;
    podman)
      run_measure bench/podman_measure.sh $((240 + 2 * (RUNS * 6 + ROUNDS * 4 * (DUR + 15)))) \
        BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS BENCH_RUNS=$RUNS
      ;;
    podman5)
      run_measure bench/podman5_measure.sh $((240 + 2 * (RUNS * 6 + ROUNDS * 2 * (DUR + 20)))) \
        BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS BENCH_RUNS=$RUNS
      ;;
  esac
done
kill "$WATCH_PID" 2>/dev/null
echo "elapsed=$(($(date +%s) - MEASURE_START))" >>"$OUT/facts.txt"
echo "total_s=$(($(date +%s) - RUN_START))" >>"$OUT/facts.txt"
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/facts.txt"

# 4. The page.
args=("$OUT" --md "$OUT/benchmarks.md" --png "$OUT/benchmarks.png")
/usr/bin/python3 bench/report.py "${args[@]}"
if ((DOCS && FULL)); then
  cp "$OUT/benchmarks.md" docs/benchmarks.md
  cp "$OUT/benchmarks.png" docs/benchmarks.png
  echo "bench: docs/benchmarks.md and docs/benchmarks.png regenerated" >&2
elif ((DOCS)); then
  echo "bench: not a full run (a part of it, --quick, or under 3 rounds): docs/ left alone;" \
    "the page is $OUT/benchmarks.md" >&2
fi
