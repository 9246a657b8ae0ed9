#!/usr/bin/env bash
# bench/tap_measure.sh: the tap section of bench/run.sh (run.sh builds,
# installs and then calls this; report_tap.py turns its output into tables
# and a chart). Not meant to be run by hand, but it can be, with the
# variables below.
#
# Theory of operation. lib.sh re-executes this script in a fresh user + net +
# pid + mount namespace: the "host" namespace. There, on 127.0.0.1, run one
# iperf3 server per measurement (-1, fresh each time, killed by pid) and one
# netd-bench-rr echo server. For each tool a new container namespace
# (`unshare --user --map-root-user --net` holder, lib.sh's container_up) gets
# its tap from that tool, the way Podman starts them (start_tool below has
# the command lines; each is also written to started.tsv for the report).
# Every tool gives the container the same layout, 10.0.2.100/24 behind
# 10.0.2.2 and fd00::100 (or SLAAC) behind fd00::2, and maps the gateway to
# the host's loopback; the clients run in the container against 10.0.2.2.
# "loopback" runs the same clients in the host namespace against 127.0.0.1
# directly: the ceiling. pasta copies its defaults from the interface with
# the default route: the world veth of lib.sh (198.51.100.1, 2001:db8::1),
# overridden by -a/-n/-g. pasta13 (Debian 13's) runs inside the Debian 13
# root's mount namespace (common.sh's trixie), with the same network, pid
# and user namespaces as the rest.
#
# Order: at each MTU every tool is attached to its own container at once
# (idle tools cost nothing); then, ROUNDS times, each line runs for all
# tools back to back, in an order rotated every round. A tool's number for
# a line is thus seconds apart from its peers', and no tool is always first.
#
# Raw results land in $BENCH_OUT/raw/TOOL/LINE.rN.json for round N (iperf3
# -J output or one netd-bench-rr JSON line; the idle line's own JSON) with
# .err beside it when the measurement failed (LINE.err: the tool did not
# start); a failure never stops the run. Everything is bounded by timeouts.
# LINE.rN.cpu holds the tool's CPU seconds (all its threads, from
# /proc/PID/task/*/schedstat) spent during that line. TOOL/link.MTU.txt is
# `ip -d link show tap0` in its container (says whether the tap has
# virtio-net headers, i.e. offloads). lines.tsv: common.sh's line records.
#
# Environment: NETD_BIN, NETD_BASE_BIN (netd of the baseline commit),
# BENCH_RR (the probe), BENCH_OUT, BENCH_TOOLS (space-separated, of
# "loopback netd netd-epoll netd-nooffload netd-pasta slirp4netns pasta12
# pasta13 pasta-new netd-base"), BENCH_LINES (space-separated), BENCH_DUR (iperf3
# seconds), BENCH_N_RR, BENCH_N_CRR, BENCH_N_IDLE, BENCH_UDP_RATE (iperf3
# -b), BENCH_ROUNDS, BENCH_PASTA_NEW (path, kept as given: a symlink named
# pasta stays pasta).

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
N_RR=${BENCH_N_RR:-10000}
N_CRR=${BENCH_N_CRR:-2000}
N_IDLE=${BENCH_N_IDLE:-1000}
UDP_RATE=${BENCH_UDP_RATE:-200M}
ROUNDS=${BENCH_ROUNDS:-3}
IPERF_PORT=5201
RR_PORT=5300
# Podman raises its open-file limit to the hard limit, and the tools it
# starts inherit it; so do the tools here (the idle line holds many flows).
ulimit -n "$(ulimit -Hn)"

# The lines, and which tools take part in each: netd-nooffload and
# netd-base only in the TCP bulk lines (the first to show what offloads
# bring, the second whether a bulk line fell below the baseline commit).
BULK_LINES="tcp_c2h_65520 tcp_h2c_65520 tcp4_c2h_65520 tcp_c2h_1500 tcp_h2c_1500"
declare -A LINES_AT=(
  [65520]="tcp_c2h_65520 tcp_h2c_65520 tcp4_c2h_65520 udp_c2h_65520 tcp_rr udp_rr tcp_crr tcp_idle tcp6_c2h_65520 tcp6_h2c_65520"
  [1500]="tcp_c2h_1500 tcp_h2c_1500")
takes_part() {  # TOOL LINE
  case "$1" in
    netd-nooffload) [[ "$2" == tcp_c2h_* || "$2" == tcp_h2c_* ]] ;;
    netd-base) [[ " $BULK_LINES " == *" $2 "* ]] ;;
    loopback) [[ "$2" != tcp_idle ]] ;;
    *) return 0 ;;
  esac
}
wanted=" $(xargs <<<"${BENCH_LINES:-${LINES_AT[65520]} ${LINES_AT[1500]}}") "
for mtu in "${!LINES_AT[@]}"; do
  keep=""
  for l in ${LINES_AT[$mtu]}; do [[ "$wanted" == *" $l "* ]] && keep+=" $l"; done
  LINES_AT[$mtu]=${keep# }
done

# rr TOOL OUT MODE N: one netd-bench-rr client run.
rr() {
  local tool=$1 out=$2 mode=$3 n=$4
  run_client "$tool" timeout --kill-after=2 40 "$BENCH_RR" "$mode" "$(target_of "$tool")" "$RR_PORT" "$n" 64 \
    >"$out.json" 2>"$out.stderr"
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    { grep -h '^error:' "$out.stderr" | sed 's/^error: //'; [[ $rc -eq 124 ]] && echo "timed out"; echo "exit $rc"; } \
      | head -n1 >"$out.err"
  fi
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# idle TOOL OUT: a fresh instance of the tool in a fresh container (so
# that no earlier round's flows left memory to reuse), and its RSS before
# and while N_IDLE TCP connections from the container to the echo server
# stand open and idle (one round trip each), as
# {"flows":N,"rss_before_kib":A,"rss_after_kib":B}; then it is stopped.
# TPIDS/CTRS keep naming the tool's instance for the other lines.
idle() {
  local tool=$1 out=$2 pid before after hold
  if ! start_tool "$tool" 65520; then
    echo "$START_ERR" >"$out.err"
    stop_pid "$TOOL_PID"
    stop_pid "$CTR"
    return
  fi
  pid=$TOOL_PID
  before=$(rss_kib "$pid")
  in_ctr timeout --kill-after=2 60 "$BENCH_RR" hold "$(target_of "$tool")" "$RR_PORT" "$N_IDLE" 50 \
    >"$out.hold" 2>"$out.stderr" &
  hold=$!
  for ((k = 0; k < 300; k++)); do
    grep -q '"open"' "$out.hold" 2>/dev/null && break
    kill -0 "$hold" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q '"open"' "$out.hold"; then
    sleep 1  # (the flows' last segments and acknowledgements settle)
    after=$(rss_kib "$pid")
    printf '{"flows":%s,"rss_before_kib":%s,"rss_after_kib":%s}\n' "$N_IDLE" "$before" "$after" >"$out.json"
  else
    { grep -h '^error:' "$out.stderr" | sed 's/^error: //'; echo "the flows did not open"; } | head -n1 >"$out.err"
  fi
  stop_pid "$hold"
  stop_pid "$pid"
  stop_pid "$CTR"
}

# measure TOOL LINE ROUND: one line of one tool, raw files LINE.rROUND.*.
# CTR is switched to the tool's container; loopback's MTU 1500 lines run
# with lo at MTU 1500, restored at once so the other tools' host side is
# never affected.
measure() {
  local tool=$1 line=$2 round=$3 out="$RAW/$1/$2.r$3"
  CTR=${CTRS[$tool]:-}
  [[ "$tool" == loopback && "$line" == *_1500 ]] && ip link set lo mtu 1500
  local pid=${TPIDS[$tool]:-} cpu0=0
  [[ "$line" == tcp_idle ]] && pid=""  # (a fresh instance of its own)
  [[ -n "$pid" ]] && cpu0=$(cpu_ns "$pid")
  log "$tool: $line, round $round"
  line_begin
  case "$line" in
    tcp_c2h_* | tcp6_c2h_*) iperf "$tool" "$out" ;;
    tcp_h2c_* | tcp6_h2c_*) iperf "$tool" "$out" -R ;;
    tcp4_c2h_*) iperf "$tool" "$out" -P 4 ;;
    udp_c2h_*) iperf "$tool" "$out" -u -b "$UDP_RATE" -l 1400 ;;
    tcp_rr) rr "$tool" "$out" tcp-rr "$N_RR" ;;
    udp_rr) rr "$tool" "$out" udp-rr "$N_RR" ;;
    tcp_crr) rr "$tool" "$out" tcp-crr "$N_CRR" ;;
    tcp_idle) idle "$tool" "$out" ;;
  esac
  line_end "$line" "$tool" "$round"
  if [[ -n "$pid" ]]; then
    awk -v a="$cpu0" -v b="$(cpu_ns "$pid")" 'BEGIN {printf "%.6f\n", (b - a) / 1e9}' >"$out.cpu"
  fi
  [[ "$tool" == loopback ]] && ip link set lo mtu 65536
}

# mark_failed TOOL REASON LINE...: every LINE is n/a for REASON.
mark_failed() {
  local tool=$1 why=$2
  shift 2
  for m in "$@"; do echo "$why" >"$RAW/$tool/$m.err"; done
}

mkdir -p "$RAW" "$BENCH_OUT/logs"
: >"$BENCH_OUT/started.tsv"
"$BENCH_RR" server 127.0.0.1 "$RR_PORT" 900 >"$BENCH_OUT/logs/rr-server.log" 2>&1 &
PIDS+=("$!")
retry 30 bash -c "ss -Hltn 'sport = :$RR_PORT' | grep -q LISTEN" || log "the echo server is not listening"
tap_world_up

declare -A CTRS TPIDS
for mtu in 65520 1500; do
  [[ -n "${LINES_AT[$mtu]}" ]] || continue
  active=()
  for tool in ${BENCH_TOOLS}; do
    mkdir -p "$RAW/$tool"
    mine=()
    for l in ${LINES_AT[$mtu]}; do takes_part "$tool" "$l" && mine+=("$l"); done
    ((${#mine[@]})) || continue
    if start_tool "$tool" "$mtu"; then
      active+=("$tool")
    else
      log "$START_ERR"
      mark_failed "$tool" "$START_ERR" "${mine[@]}"
    fi
    CTRS[$tool]=$CTR
    TPIDS[$tool]=$TOOL_PID
    CTR=""
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    for line in ${LINES_AT[$mtu]}; do
      for tool in $(rotate $((round - 1)) "${active[@]}"); do
        takes_part "$tool" "$line" && measure "$tool" "$line" "$round"
      done
    done
  done
  for tool in ${BENCH_TOOLS}; do
    stop_pid "${TPIDS[$tool]:-}"
    stop_pid "${CTRS[$tool]:-}"
    TPIDS[$tool]=""
    CTRS[$tool]=""
  done
done
log "measurements done"
exit 0
