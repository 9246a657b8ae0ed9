#!/usr/bin/env bash
# bench/run.sh: netd side by side with slirp4netns and pasta (from Debian),
# with host loopback as the ceiling, in one run on this machine.
#
#   bench/run.sh [--quick] [--rounds N] [--pasta PATH] [--tools "loopback netd ..."] [--no-docs]
#
# Theory of operation: three steps, each in its own file.
#  1. here: install the benchmark's packages (bench/install-deps.sh), build
#     netd and the probe (Release), record machine facts and tool versions;
#  2. bench/measure.sh, inside namespaces made by tests/integration/lib.sh:
#     iperf3 TCP both ways at MTU 65520 and 1500, iperf3 UDP, request/response
#     latency and connections per second with bench/rr.cpp, each line for all
#     tools back to back, N rounds (default 1; the median is reported); raw results in a
#     results directory (under build-bench/), failures recorded as reasons;
#  3. bench/report.py: the table with netd/peer ratios on stdout, and
#     docs/benchmarks.md + docs/benchmarks.png (unless --no-docs).
# Only 127.0.0.1 and namespaces made by the run carry traffic. The whole run
# is bounded (timeout on the namespace part); it never fails because a tool
# failed a measurement: that shows as "n/a (reason)". Not a test; not for CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/run.sh${*:+ $*}"

QUICK=0
ROUNDS=1
PASTA_NEW=""
TOOLS="loopback netd slirp4netns pasta"
DOCS=1
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    --pasta) PASTA_NEW=$(realpath "${2:?--pasta needs a path}"); shift ;;
    --tools) TOOLS=${2:?--tools needs a list}; shift ;;
    --no-docs) DOCS=0 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n "$PASTA_NEW" ]]; then
  [[ -x "$PASTA_NEW" ]] || { echo "run.sh: --pasta $PASTA_NEW is not executable" >&2; exit 2; }
  TOOLS="$TOOLS pasta-new"
fi

scripts/install-deps.sh
bench/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target netd netd-bench-rr >/dev/null

OUT="$ROOT/build-bench/bench-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --rounds takes 1..99" >&2; exit 2; }
if ((QUICK)); then
  DUR=2 N_RR=1000 N_CRR=500
else
  DUR=5 N_RR=5000 N_CRR=2000
fi
# The namespace part's hard limit: generous per line, so it only ends a run
# that hangs (a normal full run of 4 tools takes about 2 minutes per round).
ntools=$(wc -w <<<"$TOOLS")
LIMIT=$((120 + ROUNDS * ntools * (8 * (DUR + 3) + 15)))

# Machine facts and versions, for the report.
pasta_version() { dpkg-query -W -f='${Version}' passt 2>/dev/null || echo unknown; }
# shellcheck source=common.sh
source bench/common.sh
{
  machine_facts
  echo "slirp4netns=$(slirp4netns --version | head -n1 | awk '{print $3}'), libslirp $(slirp4netns --version | awk '/libslirp/ {print $2}')"
  echo "pasta=passt $(pasta_version) (Debian)"
  [[ -n "$PASTA_NEW" ]] && echo "pasta-new=$PASTA_NEW: $("$PASTA_NEW" --version 2>&1 | grep -v 'Failed to send' | head -n1)"
  echo "duration=$DUR"
  echo "n_rr=$N_RR"
  echo "n_crr=$N_CRR"
  echo "tools=$TOOLS"
  echo "rounds=$ROUNDS"
} >"$OUT/facts.txt"

echo "bench: tools: $TOOLS; $ROUNDS round(s); iperf3 -t $DUR; $N_RR round trips; $N_CRR connections; results in $OUT" >&2
run_measure bench/measure.sh BENCH_RR="$ROOT/build-bench/bin/netd-bench-rr" BENCH_TOOLS="$TOOLS" BENCH_DUR=$DUR \
  BENCH_N_RR=$N_RR BENCH_N_CRR=$N_CRR BENCH_ROUNDS=$ROUNDS BENCH_PASTA_NEW="$PASTA_NEW"

args=("$OUT")
((DOCS)) && args+=(--md docs/benchmarks.md --png docs/benchmarks.png)
/usr/bin/python3 bench/report.py "${args[@]}"
