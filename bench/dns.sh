#!/usr/bin/env bash
# bench/dns.sh: netd dns next to aardvark-dns (Debian), same configuration,
# measured with dnsperf in one run on this machine.
#
#   bench/dns.sh [--seconds N] [--rounds N] [--no-docs]
#
# Theory of operation: install the packages (scripts/install-deps.sh,
# bench/install-deps.sh: dnsperf, aardvark-dns), build netd in Release
# (build-bench/), then measure inside namespaces made by
# tests/integration/lib.sh (bench/dns_measure.sh): both servers read one
# aardvark config directory (100 containers on one network, listening on
# 127.77.0.1), take /etc/resolv.conf of that mount namespace (nameserver
# 127.0.0.1) as their upstream, where a fast test upstream (another netd dns,
# authoritative for fwdN.example with TTL 300) answers. dnsperf asks from a
# container's address (127.77.1.2), one server at a time, N seconds per line:
#   local       container names (cN.dns.podman), answered by the server itself
#   forwarded   fwdN.example: netd answers from its cache after the first
#               round of names; aardvark-dns has no cache and forwards each
#   forwarded, no cache   netd --no-cache (the forwarding path itself)
# Every line runs N rounds (default 3), the median is reported. Results go
# to build-bench/dns-results/DATE/ and, unless --no-docs, to the DNS section
# of docs/benchmarks.md. Only 127.0.0.0/8 in the run's own namespace carries
# traffic. Not a test; not for CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/dns.sh${*:+ $*}"
SECONDS_PER=10
ROUNDS=3
DOCS=1
while (($#)); do
  case "$1" in
    --seconds) SECONDS_PER=${2:?}; shift ;;
    --rounds) ROUNDS=${2:?}; shift ;;
    --no-docs) DOCS=0 ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dns.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$SECONDS_PER" =~ ^[1-9][0-9]?$ && "$ROUNDS" =~ ^[1-9]$ ]] || { echo "dns.sh: --seconds 1..99, --rounds 1..9" >&2; exit 2; }

scripts/install-deps.sh
bench/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target netd >/dev/null

OUT="$ROOT/build-bench/dns-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$COMMAND"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs"
  echo "kernel=$(uname -r)"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "netd=$(git describe --always --dirty 2>/dev/null || echo unknown) (Release)"
  echo "aardvark=$(dpkg-query -W -f='${Version}' aardvark-dns) (Debian)"
  echo "dnsperf=$(dnsperf -h 2>&1 | sed -n 's/^Version //p')"
  echo "seconds=$SECONDS_PER"
  echo "rounds=$ROUNDS"
} >"$OUT/facts.txt"
echo "bench/dns: $ROUNDS round(s) of ${SECONDS_PER} s per line; results in $OUT" >&2
LIMIT=$((60 + ROUNDS * 4 * (SECONDS_PER + 8)))
NETD_BIN="$ROOT/build-bench/bin/netd" NETD_SRC="$ROOT" NETD_TEST_TIMEOUT=$LIMIT NETD_TEST_LIFETIME=$LIMIT \
  BENCH_OUT="$OUT" BENCH_SECONDS=$SECONDS_PER BENCH_ROUNDS=$ROUNDS AARDVARK=/usr/lib/podman/aardvark-dns \
  bash bench/dns_measure.sh
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/facts.txt"
args=("$OUT")
((DOCS)) && args+=(--md docs/benchmarks.md)
/usr/bin/python3 bench/dns_report.py "${args[@]}"
