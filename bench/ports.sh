#!/usr/bin/env bash
# bench/ports.sh: only the ports section of bench/run.sh:
# published-port throughput (netd attach -p, netd as pasta -t, netd forward, Debian 13's pasta -t, slirp4netns' API, RootlessKit's builtin driver).
#
#   bench/ports.sh [run.sh's options, e.g. --quick, --rounds N]
#
# The same run as `bench/run.sh --lines ports`: results and a page with this
# section in build-bench/bench-results/DATE/; docs/benchmarks.md is written
# only by a run of everything (bench/run.sh alone).
exec "$(dirname "$0")/run.sh" --lines ports "$@"
