#!/usr/bin/env bash
# bench/podman.sh: Debian's podman with netd as its slirp4netns, next to
# podman with Debian's slirp4netns, in one run on this machine: how long
# `podman run --rm --network slirp4netns` takes, and TCP throughput of a
# container to and from a world host, to a port it publishes, and from a
# bridge network (through the rootless netns).
#
#   bench/podman.sh [--quick] [--rounds N] [--runs N] [--no-docs]
#
# Theory of operation: like bench/ports.sh, three steps. Here: install the
# packages (scripts/install-deps.sh: podman, crun, conmon, netavark;
# bench/install-deps.sh: iperf3, slirp4netns), build netd (Release,
# build-bench/), record machine facts. bench/podman_measure.sh, inside
# namespaces made by tests/integration/lib.sh with podman set up as in
# tests/integration/test_podman.sh (podman_lib.sh), measures each tool in turn
# (its header says what and how). bench/podman_report.py prints the table
# and (unless --no-docs) rewrites the "Podman" section of docs/benchmarks.md.
# Only 127.0.0.1 and namespaces made by the run carry traffic; nothing is
# pulled (the image is made from the host's busybox and iperf3); everything
# is bounded by timeouts; a failed line shows as "n/a (reason)". Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/podman.sh${*:+ $*}"

QUICK=0
ROUNDS=1
RUNS=10
DOCS=1
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --no-docs) DOCS=0 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "podman.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || { echo "podman.sh: --rounds takes 1..99" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "podman.sh: --runs takes 1..99" >&2; exit 2; }

scripts/install-deps.sh
bench/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target netd >/dev/null

OUT="$ROOT/build-bench/podman-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
DUR=5
((QUICK)) && DUR=2 && RUNS=3
TOOLS="netd slirp4netns"
LIMIT=$((180 + 2 * (RUNS * 5 + ROUNDS * 4 * (DUR + 15))))
# shellcheck source=common.sh
source bench/common.sh
{
  machine_facts
  echo "slirp4netns=$(slirp4netns --version | head -n1 | awk '{print $3}')"
  echo "podman=$(podman --version | awk '{print $3}')"
  echo "duration=$DUR"
  echo "rounds=$ROUNDS"
  echo "runs=$RUNS"
  echo "tools=$TOOLS"
} >"$OUT/facts.txt"

echo "podman: $TOOLS; $RUNS podman runs; $ROUNDS round(s) of iperf3 -t $DUR; results in $OUT" >&2
run_measure bench/podman_measure.sh BENCH_TOOLS="$TOOLS" BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS BENCH_RUNS=$RUNS

args=("$OUT")
((DOCS)) && args+=(--md docs/benchmarks.md)
/usr/bin/python3 bench/podman_report.py "${args[@]}"
