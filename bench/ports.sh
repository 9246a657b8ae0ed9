#!/usr/bin/env bash
# bench/ports.sh: published-port throughput, host -> container, for every way
# netd and its peers publish a port, in one run on this machine, with ratios
# and whether each keeps the client's source address.
#
#   bench/ports.sh [--quick] [--rounds N] [--no-docs]
#
# Theory of operation: like bench/run.sh, three steps. Here: install the
# packages (bench/install-deps.sh: iperf3, slirp4netns; scripts/install-deps.sh:
# rootlesskit), build netd (Release, build-bench/), record machine facts.
# bench/ports_measure.sh, inside namespaces made by tests/integration/lib.sh,
# publishes an iperf3 server and a "who are you" server of a container for
# each tool:
#   netd-instack   netd attach -c -p ...            (tap stack, source kept)
#   netd-forward   netd forward -p ...              (splice, no tap)
#   slirp4netns    slirp4netns -c --api-socket + add_hostfwd
#   rootlesskit    rootlesskit --net=slirp4netns --port-driver=builtin -p ...
# and "loopback" (iperf3 over the host's lo, no container) as the ceiling.
# iperf3 runs from the host's 127.0.0.1 to the published port, both ways
# (-R: container -> host); a client in the world namespace asks the
# container's server who it is, which tells whether the source address
# survived. bench/ports_report.py prints the table and (unless --no-docs)
# rewrites the "Published ports" section of docs/benchmarks.md.
# Only 127.0.0.1 and namespaces made by the run carry traffic; everything is
# bounded by timeouts; a tool that fails shows as "n/a (reason)". Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/ports.sh${*:+ $*}"

QUICK=0
ROUNDS=1
DOCS=1
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    --no-docs) DOCS=0 ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ports.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || { echo "ports.sh: --rounds takes 1..99" >&2; exit 2; }

scripts/install-deps.sh
bench/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target netd >/dev/null

OUT="$ROOT/build-bench/ports-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
DUR=5
((QUICK)) && DUR=2
TOOLS="loopback netd-instack netd-forward slirp4netns rootlesskit"
LIMIT=$((120 + ROUNDS * 5 * 2 * (DUR + 10)))
# shellcheck source=common.sh
source bench/common.sh
{
  machine_facts
  echo "slirp4netns=$(slirp4netns --version | head -n1 | awk '{print $3}')"
  echo "rootlesskit=$(rootlesskit --version | awk '{print $3}')"
  echo "duration=$DUR"
  echo "rounds=$ROUNDS"
  echo "tools=$TOOLS"
} >"$OUT/facts.txt"

echo "ports: $TOOLS; $ROUNDS round(s); iperf3 -t $DUR; results in $OUT" >&2
run_measure bench/ports_measure.sh BENCH_TOOLS="$TOOLS" BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS

args=("$OUT")
((DOCS)) && args+=(--md docs/benchmarks.md)
/usr/bin/python3 bench/ports_report.py "${args[@]}"
