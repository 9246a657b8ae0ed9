#!/usr/bin/env bash
# bench/measure.sh: the measuring half of bench/run.sh (run.sh builds,
# installs, then calls this; report.py turns its output into tables and a
# chart). Not meant to be run by hand, but it can be, with the variables below.
#
# Theory of operation. lib.sh re-executes this script in a fresh user + net +
# pid + mount namespace: the "host" namespace. There, on 127.0.0.1, run one
# iperf3 server per measurement (-1, fresh each time, killed by pid) and one
# netd-bench-rr echo server. For each tool a new container namespace
# (`unshare --user --map-root-user --net` holder, lib.sh's container_up) gets
# its tap from that tool, the way Podman starts them:
#   netd        netd attach -c -m MTU --ready-fd FD PID
#   slirp4netns slirp4netns -c --mtu=MTU --ready-fd=FD PID tap0
#   pasta       pasta -f --config-net -m MTU -a 10.0.2.100 -n 24 -g 10.0.2.2 -I tap0
#               -t none -u none -T none -U none PID   (pasta copies addresses from
#               the host's default-route interface: the world veth of lib.sh,
#               overridden here so every tool has the same 10.0.2.0/24 layout)
# and the clients run inside the container against the gateway 10.0.2.2,
# which every tool maps to the host's 127.0.0.1. "loopback" runs the same
# clients in the host namespace against 127.0.0.1 directly: the ceiling.
# The tcp6_* lines do the same over IPv6: gateway fd00::2 -> host ::1
# (slirp4netns started with --enable-ipv6, pasta given fd00::100/fd00::2,
# netd's default; loopback against ::1).
#
# Raw results land in $BENCH_OUT/raw/TOOL/METRIC.rN.json for round N (iperf3
# -J output or one netd-bench-rr JSON line) with .err beside it when the
# measurement failed (METRIC.err: the tool did not start); a failure never
# stops the run. Everything is bounded by timeouts.
#
# Environment: NETD_BIN, BENCH_RR (the probe), BENCH_OUT, BENCH_TOOLS
# (space-separated subset of "loopback netd slirp4netns pasta pasta-new"),
# BENCH_DUR (iperf3 seconds), BENCH_N_RR, BENCH_N_CRR, BENCH_ROUNDS,
# BENCH_PASTA_NEW (path).

HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh"
# shellcheck source=common.sh
source "$HERE_BENCH/common.sh"
trap - ERR
set +e

RAW="$BENCH_OUT/raw"
DUR=${BENCH_DUR:-5}
N_RR=${BENCH_N_RR:-5000}
N_CRR=${BENCH_N_CRR:-2000}
ROUNDS=${BENCH_ROUNDS:-1}
IPERF_PORT=5201
RR_PORT=5300
TOOL_PID=""

# A fresh one-off iperf3 server on 127.0.0.1 (or $1, e.g. ::1); sets IPERF_SRV to its pid.
iperf_server() {
  iperf3 -s -1 -B "${1:-127.0.0.1}" -p "$IPERF_PORT" --rcv-timeout 10000 >>"$T/iperf-server.log" 2>&1 &
  IPERF_SRV=$!
  PIDS+=("$IPERF_SRV")
  retry 30 bash -c "ss -Hltn 'sport = :$IPERF_PORT' | grep -q LISTEN"
}

# run_client TOOL CMD...: runs CMD in the tool's client place (the container, or
# the host namespace for loopback).
run_client() {
  if [[ "$1" == loopback ]]; then shift; "$@"; else shift; in_ctr "$@"; fi
}
target_of() { [[ "$1" == loopback ]] && echo 127.0.0.1 || echo 10.0.2.2; }
target6_of() { [[ "$1" == loopback ]] && echo ::1 || echo fd00::2; }

# iperf TOOL METRIC ARGS...: one iperf3 client run, JSON into RAW/TOOL/METRIC.json.
# tcp6_* metrics go over IPv6.
iperf() {
  local tool=$1 metric=$2 srv=127.0.0.1 dst
  dst=$(target_of "$tool")
  if [[ "$metric" == tcp6_* ]]; then srv=::1 dst=$(target6_of "$tool"); fi
  shift 2
  local out="$RAW/$tool/$metric"
  iperf_server "$srv" || { echo "iperf3 server did not start" >"$out.err"; return; }
  log "$tool: $metric"
  run_client "$tool" timeout --kill-after=2 $((DUR + 15)) iperf3 -J -c "$dst" \
    -p "$IPERF_PORT" --connect-timeout 3000 -t "$DUR" "$@" >"$out.json" 2>"$out.stderr"
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    { echo "iperf3 exit $rc"; [[ $rc -eq 124 ]] && echo "timed out"; } >"$out.err"
  fi
  stop_pid "$IPERF_SRV"
}

# rr TOOL METRIC MODE N: one netd-bench-rr client run.
rr() {
  local tool=$1 metric=$2 mode=$3 n=$4
  local out="$RAW/$tool/$metric"
  log "$tool: $metric"
  run_client "$tool" timeout --kill-after=2 40 "$BENCH_RR" "$mode" "$(target_of "$tool")" "$RR_PORT" "$n" 64 \
    >"$out.json" 2>"$out.stderr"
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    { grep -h '^error:' "$out.stderr" | sed 's/^error: //'; [[ $rc -eq 124 ]] && echo "timed out"; echo "exit $rc"; } \
      | head -n1 >"$out.err"
  fi
}

# wait_default_route PID: until the container has its default route via
# 10.0.2.2, or the tool PID has exited, or 5 s.
wait_default_route() {
  for ((k = 0; k < 50; k++)); do
    in_ctr ip route show default 2>/dev/null | grep -q "via 10.0.2.2" && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}


# start_tool TOOL MTU: a new container and TOOL attached to it; sets TOOL_PID.
# Returns non-zero (reason in $START_ERR) when the tool did not come up.
start_tool() {
  local tool=$1 mtu=$2 fifo="$T/ready.$tool.$mtu"
  START_ERR=""
  TOOL_PID=""
  CTR=""
  [[ "$tool" == loopback ]] && return 0
  container_up
  mkfifo "$fifo"
  exec {rfd}<>"$fifo"
  local lg="$BENCH_OUT/logs/$tool.$mtu.log"
  case "$tool" in
    netd)
      "$NETD_BIN" attach -c -m "$mtu" --ready-fd 3 --log-level warn "$CTR" 3>"$fifo" >"$lg" 2>&1 &
      TOOL_PID=$!
      read_ready "$rfd" || START_ERR="not ready within 10 s"
      ;;
    slirp4netns)
      slirp4netns -c --enable-ipv6 --mtu="$mtu" --ready-fd=3 "$CTR" tap0 3>"$fifo" >"$lg" 2>&1 &
      TOOL_PID=$!
      read_ready "$rfd" || START_ERR="not ready within 10 s"
      ;;
    pasta | pasta-new)
      local bin=pasta
      [[ "$tool" == pasta-new ]] && bin=$BENCH_PASTA_NEW
      "$bin" -f --config-net -m "$mtu" -a 10.0.2.100 -n 24 -g 10.0.2.2 -a fd00::100 -g fd00::2 -I tap0 \
        -t none -u none -T none -U none "$CTR" >"$lg" 2>&1 &
      TOOL_PID=$!
      wait_default_route "$TOOL_PID" || START_ERR="no default route in the container"
      ;;
  esac
  exec {rfd}<&-
  [[ -n "$TOOL_PID" ]] && PIDS+=("$TOOL_PID")
  if ! kill -0 "$TOOL_PID" 2>/dev/null; then
    wait "$TOOL_PID"
    START_ERR="exited at start with status $?"
  fi
  if [[ -n "$START_ERR" ]]; then
    local last
    last=$(grep -v 'Failed to send' "$lg" | tail -n1)
    START_ERR="$tool did not start: $START_ERR${last:+ ($last)}"
    return 1
  fi
  # First packet resolves ARP; not part of any measurement.
  in_ctr ping -c1 -W2 10.0.2.2 >/dev/null 2>&1
  # IPv6: the address may come by SLAAC; the tcp6 lines fail on their own if not.
  for ((k = 0; k < 50; k++)); do
    in_ctr ping -6 -c1 -W1 fd00::2 >/dev/null 2>&1 && break
    sleep 0.2
  done
  return 0
}
# mark_failed TOOL REASON METRIC...: every METRIC is n/a for REASON.
mark_failed() {
  local tool=$1 why=$2
  shift 2
  for m in "$@"; do echo "$why" >"$RAW/$tool/$m.err"; done
}

# measure TOOL METRIC SUFFIX: one line of one tool, raw file METRIC.SUFFIX.
# CTR is switched to the tool's container; loopback's MTU 1500 lines run
# with lo at MTU 1500, restored at once so the other tools' host side is
# never affected.
measure() {
  local tool=$1 metric=$2 sfx=$3
  CTR=${CTRS[$tool]:-}
  [[ "$tool" == loopback && "$metric" == *_1500 ]] && ip link set lo mtu 1500
  case "$metric" in
    tcp_c2h_*) iperf "$tool" "$metric.$sfx" ;;
    tcp_h2c_* | tcp6_h2c_*) iperf "$tool" "$metric.$sfx" -R ;;
    tcp6_c2h_*) iperf "$tool" "$metric.$sfx" ;;
    udp_c2h_*) iperf "$tool" "$metric.$sfx" -u -b 0 -l 1400 ;;
    tcp_rr) rr "$tool" "$metric.$sfx" tcp-rr "$N_RR" ;;
    udp_rr) rr "$tool" "$metric.$sfx" udp-rr "$N_RR" ;;
    tcp_crr) rr "$tool" "$metric.$sfx" tcp-crr "$N_CRR" ;;
  esac
  [[ "$tool" == loopback ]] && ip link set lo mtu 65536
}

declare -A METRICS_AT=(
  [65520]="tcp_c2h_65520 tcp_h2c_65520 tcp6_c2h_65520 tcp6_h2c_65520 udp_c2h_65520 tcp_rr udp_rr tcp_crr"
  [1500]="tcp_c2h_1500 tcp_h2c_1500")

mkdir -p "$RAW" "$BENCH_OUT/logs"
"$BENCH_RR" server 127.0.0.1 "$RR_PORT" 900 >"$BENCH_OUT/logs/rr-server.log" 2>&1 &
PIDS+=("$!")
retry 30 bash -c "ss -Hltn 'sport = :$RR_PORT' | grep -q LISTEN" || log "the echo server is not listening"
# pasta takes its defaults from the interface holding the default route.
world_up
ip route add default via 198.51.100.10
world_ipv6_up
ip -6 route add default via 2001:db8::10

# Metric-major order: at each MTU every tool is attached to its own container
# at once (idle tools cost nothing), then each line runs for all tools back
# to back, ROUNDS times. A tool's numbers for one line are thus seconds apart
# from its peers', which keeps ratios steady on a machine whose load drifts.
declare -A CTRS TPIDS
for mtu in 65520 1500; do
  active=()
  for tool in ${BENCH_TOOLS}; do
    mkdir -p "$RAW/$tool"
    # shellcheck disable=SC2086
    if start_tool "$tool" "$mtu"; then
      active+=("$tool")
    else
      log "$START_ERR"
      mark_failed "$tool" "$START_ERR" ${METRICS_AT[$mtu]}
    fi
    CTRS[$tool]=$CTR
    TPIDS[$tool]=$TOOL_PID
    CTR=""
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    for metric in ${METRICS_AT[$mtu]}; do
      for tool in "${active[@]}"; do measure "$tool" "$metric" "r$round"; done
    done
  done
  for tool in ${BENCH_TOOLS}; do
    stop_pid "${TPIDS[$tool]:-}"
    stop_pid "${CTRS[$tool]:-}"
  done
done
log "measurements done"
exit 0
