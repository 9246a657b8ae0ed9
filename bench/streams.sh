#!/usr/bin/env bash
# bench/streams.sh: only the streams section of bench/run.sh: 1, 2 and 4
# parallel TCP streams each way (iperf3 -P) for host loopback, Debian 13's
# pasta, netd with one tap queue and netd --queues 2 and 4.
#
#   bench/streams.sh [run.sh's options, e.g. --quick, --rounds N]
#
# The same run as `bench/run.sh --lines streams`: results and a page with
# this section in build-bench/bench-results/DATE/; docs/benchmarks.md is
# written only by a run of everything (bench/run.sh alone).
exec "$(dirname "$0")/run.sh" --lines streams "$@"
