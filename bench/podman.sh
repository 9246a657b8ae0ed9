#!/usr/bin/env bash
# bench/podman.sh: only the podman section of bench/run.sh:
# Debian 12's Podman 4.3 with netd as its slirp4netns, next to slirp4netns.
#
#   bench/podman.sh [run.sh's options, e.g. --quick, --rounds N]
#
# The same run as `bench/run.sh --lines podman`: results and a page with this
# section in build-bench/bench-results/DATE/; docs/benchmarks.md is written
# only by a run of everything (bench/run.sh alone).
exec "$(dirname "$0")/run.sh" --lines podman "$@"
