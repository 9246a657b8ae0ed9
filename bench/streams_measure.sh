#!/usr/bin/env bash
# bench/streams_measure.sh: the streams section of bench/run.sh (several
# parallel TCP streams; report_streams.py turns its output into the
# "Several streams" table and its goal). Not meant to be run by hand, but it
# can be, with the variables below.
#
# Theory of operation: the same world and the same tool start-up as the tap
# section (bench/tap_lib.sh): every tool gets its own container at MTU
# 65520, all attached at once; then, ROUNDS times, each line runs for every
# tool back to back, in an order rotated every round. A line is one iperf3
# run with -P 1, 2 or 4 streams, container->host (c2h) or host->container
# (h2c, -R), against a one-off iperf3 server on the host's 127.0.0.1;
# loopback runs the same client in the host namespace (the ceiling). The
# tools: loopback, Debian 13's pasta (pasta13), netd with one tap queue
# (netd) and netd --queues 2 and 4 (netd-q2, netd-q4).
#
# Raw results: $BENCH_OUT/raw/TOOL/LINE.rN.json (iperf3 -J) for round N,
# .err beside a failed round (LINE.err: the tool never started);
# started.tsv: the command lines; lines.tsv: common.sh's line records.
#
# Environment: NETD_BIN, BENCH_OUT, BENCH_TOOLS (space-separated, of
# "loopback pasta13 netd netd-q2 netd-q4"), BENCH_DUR (iperf3 seconds),
# BENCH_ROUNDS.

HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh"
# shellcheck source=common.sh
source "$HERE_BENCH/common.sh"
# shellcheck source=tap_lib.sh
source "$HERE_BENCH/tap_lib.sh"
trap - ERR
set +e

RAW="$BENCH_OUT/raw"
DUR=${BENCH_DUR:-3}
ROUNDS=${BENCH_ROUNDS:-3}
BENCH_TOOLS=${BENCH_TOOLS:-loopback pasta13 netd netd-q2 netd-q4}
IPERF_PORT=5201
MTU=65520
STREAM_LINES="c2h_p1 c2h_p2 c2h_p4 h2c_p1 h2c_p2 h2c_p4"
declare -A LINES_AT=([65520]="$STREAM_LINES")  # (tap_lib.sh's start_tool looks for tcp6 lines here)
ulimit -n "$(ulimit -Hn)"

# measure TOOL LINE ROUND: one iperf3 run into RAW/TOOL/LINE.rROUND.*.
measure() {
  local tool=$1 line=$2 round=$3 streams dir=()
  CTR=${CTRS[$tool]:-}
  streams=${line##*_p}
  [[ "$line" == h2c_* ]] && dir=(-R)
  log "$tool: $line, round $round"
  line_begin
  iperf "$tool" "$RAW/$tool/$line.r$round" -P "$streams" "${dir[@]}"
  line_end "$line" "$tool" "$round"
}

mkdir -p "$RAW" "$BENCH_OUT/logs"
: >"$BENCH_OUT/started.tsv"
tap_world_up

declare -A CTRS TPIDS
active=()
for tool in $BENCH_TOOLS; do
  mkdir -p "$RAW/$tool"
  if start_tool "$tool" "$MTU"; then
    active+=("$tool")
  else
    log "$START_ERR"
    for l in $STREAM_LINES; do echo "$START_ERR" >"$RAW/$tool/$l.err"; done
  fi
  CTRS[$tool]=$CTR
  TPIDS[$tool]=$TOOL_PID
  CTR=""
done
for ((round = 1; round <= ROUNDS; round++)); do
  for line in $STREAM_LINES; do
    for tool in $(rotate $((round - 1)) "${active[@]}"); do
      measure "$tool" "$line" "$round"
    done
  done
done
for tool in $BENCH_TOOLS; do
  stop_pid "${TPIDS[$tool]:-}"
  stop_pid "${CTRS[$tool]:-}"
done
log "measurements done"
exit 0
