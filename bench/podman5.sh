#!/usr/bin/env bash
# bench/podman5.sh: Debian 13's Podman 5 with netd as its pasta, next to
# Podman 5 with Debian 13's own pasta, in one run on this machine: how long
# `podman run --rm` takes on the default (pasta) network, and TCP throughput
# from a container to the host's loopback (through the gateway, --map-gw)
# and from the host's loopback to a port the container publishes.
#
#   bench/podman5.sh [--quick] [--rounds N] [--runs N]
#
# Theory of operation: like bench/podman.sh, three steps. Here: install the
# packages and the Debian 13 root (scripts/install-deps.sh --with-podman5;
# bench/install-deps.sh: iperf3), build netd (Release, build-bench/), record
# machine facts. bench/podman5_measure.sh, inside namespaces made by
# tests/integration/lib.sh with Podman 5 set up as in
# tests/integration/test_podman5.sh (podman5_lib.sh), measures each
# implementation in turn (its header says what and how).
# bench/podman5_report.py prints the table with netd/Debian ratios (it does
# not write docs/benchmarks.md). Only 127.0.0.1 and namespaces made by the
# run carry traffic; nothing is pulled; everything is bounded by timeouts; a
# failed line shows as "n/a (reason)". Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/podman5.sh${*:+ $*}"

QUICK=0
ROUNDS=3
RUNS=10
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "podman5.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || { echo "podman5.sh: --rounds takes 1..99" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "podman5.sh: --runs takes 1..99" >&2; exit 2; }

scripts/install-deps.sh --with-podman5
bench/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target netd >/dev/null

OUT="$ROOT/build-bench/podman5-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
DUR=5
((QUICK)) && DUR=2 && RUNS=3 && ROUNDS=1
TOOLS="netd debian"
LIMIT=$((180 + 2 * (RUNS * 5 + ROUNDS * 2 * 2 * (DUR + 15))))
TRIXIE=${NETD_TRIXIE_ROOT:-/var/cache/netd/trixie-root}
# shellcheck source=common.sh
source bench/common.sh
{
  machine_facts
  echo "podman=$(chroot "$TRIXIE" dpkg-query -W -f '${Version}' podman 2>/dev/null || echo '?')"
  echo "passt=$(chroot "$TRIXIE" dpkg-query -W -f '${Version}' passt 2>/dev/null || echo '?')"
  echo "duration=$DUR"
  echo "rounds=$ROUNDS"
  echo "runs=$RUNS"
  echo "tools=$TOOLS"
} >"$OUT/facts.txt"

echo "podman5: $TOOLS; $RUNS podman runs; $ROUNDS round(s) of iperf3 -t $DUR; results in $OUT" >&2
run_measure bench/podman5_measure.sh BENCH_TOOLS="$TOOLS" BENCH_DUR=$DUR BENCH_ROUNDS=$ROUNDS BENCH_RUNS=$RUNS

/usr/bin/python3 bench/podman5_report.py "$OUT"
