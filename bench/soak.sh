#!/usr/bin/env bash
# A mixed soak of `netd attach` (not CI): for DURATION seconds (default 600)
# the container runs, in a loop, bulk TCP downloads and uploads, bursts of
# short TCP connections, UDP echoes, DNS queries and pings, all to a world
# namespace the script creates (tests/integration/lib.sh's harness: nothing
# leaves the machine). Every 10 s netd's VmRSS and open fd count are sampled.
# Prints the samples and a summary line; docs/security.md quotes one run.
#
#   NETD_BIN=build/bin/netd bench/soak.sh [DURATION]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NETD_SRC=${NETD_SRC:-$(dirname "$here")}
export SOAK_SECONDS=${1:-${SOAK_SECONDS:-600}}
export NETD_TEST_TIMEOUT=$((SOAK_SECONDS + 180))
export NETD_TEST_LIFETIME=$((SOAK_SECONDS + 120))
: "${NETD_BIN:?NETD_BIN must point to the netd binary}"
export NETD_BIN
exec bash "$here/soak_inner.sh"
