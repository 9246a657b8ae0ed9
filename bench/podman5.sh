#!/usr/bin/env bash
# bench/podman5.sh: only the podman5 section of bench/run.sh:
# Debian 13's Podman 5 with netd as its pasta, next to Debian 13's pasta.
#
#   bench/podman5.sh [run.sh's options, e.g. --quick, --rounds N]
#
# The same run as `bench/run.sh --lines podman5`: results and a page with this
# section in build-bench/bench-results/DATE/; docs/benchmarks.md is written
# only by a run of everything (bench/run.sh alone).
exec "$(dirname "$0")/run.sh" --lines podman5 "$@"
