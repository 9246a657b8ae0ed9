#!/usr/bin/env bash
# bench/dns.sh: only the dns section of bench/run.sh:
# netd dns next to aardvark-dns 1.4 (Debian 12) and 1.14 (Debian 13).
#
#   bench/dns.sh [run.sh's options, e.g. --quick, --rounds N]
#
# The same run as `bench/run.sh --lines dns`: results and a page with this
# section in build-bench/bench-results/DATE/; docs/benchmarks.md is written
# only by a run of everything (bench/run.sh alone).
exec "$(dirname "$0")/run.sh" --lines dns "$@"
