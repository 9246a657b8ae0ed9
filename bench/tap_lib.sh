# shellcheck shell=bash
# bench/tap_lib.sh: what the measuring halves that attach a tool to a
# container share (bench/tap_measure.sh, bench/streams_measure.sh): the
# world they run in, starting each tool the way Podman starts it, and one
# iperf3 run from the tool's client place. Sourced after
# tests/integration/lib.sh and bench/common.sh; uses their T, PIDS, CTR,
# and the caller's RAW, BENCH_OUT, IPERF_PORT, DUR, LINES_AT (MTU -> the
# lines run at it) and the tools' binaries (NETD_BIN, NETD_BASE_BIN,
# BENCH_PASTA_NEW).

# tap_world_up: the host namespace as the tools expect it: a default route
# (pasta copies its layout from that interface), resolv.conf naming only
# this namespace's loopback, the Debian 13 root for pasta13, netd as pasta.
tap_world_up() {
  # pasta takes its defaults from the interface holding the default route.
  world_up
  ip route add default via 198.51.100.10
  world_ipv6_up
  ip -6 route add default via 2001:db8::10
  # Nothing here resolves names, but the tools' DNS defaults must not point
  # outside either: resolv.conf (also the Debian 13 root's) names this
  # namespace's loopback.
  echo "nameserver 127.0.0.1" >"$T/resolv.conf"
  mount --bind "$T/resolv.conf" /etc/resolv.conf
  if [[ " $BENCH_TOOLS " == *" pasta13 "* ]]; then
    trixie_up || log "pasta13: $TRIXIE_ERR"
  fi
  # netd as pasta: argv[0] "pasta", through a symlink, as Podman 5 runs it.
  mkdir -p "$T/netd-as-pasta"
  ln -s "$NETD_BIN" "$T/netd-as-pasta/pasta"
}

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

# iperf TOOL OUT ARGS...: one iperf3 client run, JSON into OUT.json (tcp6
# lines over IPv6: OUT's name says which).
iperf() {
  local tool=$1 out=$2 srv=127.0.0.1 dst
  dst=$(target_of "$tool")
  if [[ "$(basename "$out")" == tcp6_* ]]; then srv=::1 dst=$(target6_of "$tool"); fi
  shift 2
  iperf_server "$srv" || { echo "iperf3 server did not start" >"$out.err"; return; }
  run_client "$tool" timeout --kill-after=2 $((DUR + 15)) iperf3 -J -c "$dst" \
    -p "$IPERF_PORT" --connect-timeout 3000 -t "$DUR" "$@" >"$out.json" 2>"$out.stderr"
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    { echo "iperf3 exit $rc"; [[ $rc -eq 124 ]] && echo "timed out"; } >"$out.err"
  fi
  stop_pid "$IPERF_SRV"
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

# pasta's options, the same for every pasta (Debian's, Debian 13's, --pasta
# PATH, and netd as pasta): the common layout, every port forwarder off so
# that nothing bypasses the tap.
pasta_args() {  # MTU PID: sets PASTA_ARGS
  PASTA_ARGS=(-f --config-net -m "$1" -a 10.0.2.100 -n 24 -g 10.0.2.2 -a fd00::100 -g fd00::2 -I tap0
    -t none -u none -T none -U none "$2")
}

# shown_cmd ARGV...: ARGV as the report shows it: the program's base name
# (the Debian 13 root's nsenter left out), the container's pid as PID.
shown_cmd() {
  local words=() a
  [[ "$1" == nsenter ]] && shift 3
  words=("$(basename "$1")")
  shift
  for a in "$@"; do [[ "$a" == "$CTR" ]] && words+=(PID) || words+=("$a"); done
  echo "${words[*]}"
}

# start_tool TOOL MTU: a new container and TOOL attached to it; sets TOOL_PID.
# Returns non-zero (reason in $START_ERR) when the tool did not come up.
start_tool() {
  local tool=$1 mtu=$2 fifo="$T/ready.$1.$2"
  START_ERR=""
  TOOL_PID=""
  CTR=""
  [[ "$tool" == loopback ]] && return 0
  container_up
  mkfifo "$fifo"
  exec {rfd}<>"$fifo"
  local lg="$BENCH_OUT/logs/$tool.$mtu.log" cmd=()
  pasta_args "$mtu" "$CTR"
  case "$tool" in
    netd) cmd=("$NETD_BIN" attach -c -m "$mtu" --ready-fd 3 --log-level warn "$CTR") ;;
    # (the fallback loop for hosts that refuse io_uring, forced: common/event_loop.h)
    netd-epoll) cmd=(env NETD_EVENT_LOOP=epoll "$NETD_BIN" attach -c -m "$mtu" --ready-fd 3 --log-level warn "$CTR") ;;
    netd-nooffload) cmd=("$NETD_BIN" attach -c -m "$mtu" --no-offload --ready-fd 3 --log-level warn "$CTR") ;;
    netd-base) cmd=("$NETD_BASE_BIN" attach -c -m "$mtu" --ready-fd 3 --log-level warn "$CTR") ;;
    # (netd with N tap queues, one thread each: netd-q2, netd-q4)
    netd-q[0-9]) cmd=("$NETD_BIN" attach -c -m "$mtu" --queues "${tool#netd-q}" --ready-fd 3 --log-level warn "$CTR") ;;
    slirp4netns) cmd=(slirp4netns -c --enable-ipv6 --mtu="$mtu" --ready-fd=3 "$CTR" tap0) ;;
    pasta12) cmd=(pasta "${PASTA_ARGS[@]}") ;;
    pasta13) cmd=(nsenter --mount="/proc/${PODMAN5_HOLDER:-0}/ns/mnt" -- /usr/bin/pasta "${PASTA_ARGS[@]}") ;;
    pasta-new) cmd=("$BENCH_PASTA_NEW" "${PASTA_ARGS[@]}") ;;
    netd-pasta) cmd=("$T/netd-as-pasta/pasta" "${PASTA_ARGS[@]}") ;;
    *) START_ERR="unknown tool" ;;
  esac
  if [[ "$tool" == pasta13 && -z "${PODMAN5_HOLDER:-}" ]]; then
    START_ERR=$TRIXIE_ERR
    cmd=()
  fi
  if ((${#cmd[@]})); then
    local shown
    shown=$(printf '%s\t%s\t%s' "$tool" "$mtu" "$(shown_cmd "${cmd[@]}")")
    grep -qxF "$shown" "$BENCH_OUT/started.tsv" || echo "$shown" >>"$BENCH_OUT/started.tsv"
    "${cmd[@]}" 3>"$fifo" >"$lg" 2>&1 &
    TOOL_PID=$!
    case "$tool" in
      pasta*|netd-pasta) wait_default_route "$TOOL_PID" || START_ERR="no default route in the container" ;;
      *) read_ready "$rfd" || START_ERR="not ready within 10 s" ;;
    esac
  fi
  exec {rfd}<&-
  [[ -n "$TOOL_PID" ]] && PIDS+=("$TOOL_PID")
  if [[ -z "$START_ERR" ]] && ! kill -0 "$TOOL_PID" 2>/dev/null; then
    wait "$TOOL_PID"
    START_ERR="exited at start with status $?"
  fi
  # The io_uring and epoll lines must not measure the same loop: each loop
  # holds its own kind of fd (an io_uring instance, an epoll set).
  if [[ -z "$START_ERR" && ( "$tool" == netd || "$tool" == netd-epoll ) ]]; then
    local fds want=io_uring
    [[ "$tool" == netd-epoll ]] && want=eventpoll
    fds=$(ls -l "/proc/$TOOL_PID/fd" 2>/dev/null)
    [[ "$fds" == *"anon_inode:[$want]"* ]] || START_ERR="no $want fd: not on the loop this line is for"
    [[ "$tool" == netd-epoll && "$fds" == *"anon_inode:[io_uring]"* ]] && START_ERR="holds an io_uring fd"
  fi
  if [[ -n "$START_ERR" ]]; then
    local last
    last=$(grep -v 'Failed to send' "$lg" 2>/dev/null | tail -n1)
    START_ERR="$tool did not start: $START_ERR${last:+ ($last)}"
    return 1
  fi
  in_ctr ip -d link show tap0 >"$RAW/$tool/link.$mtu.txt" 2>&1
  # First packet resolves ARP; not part of any measurement.
  in_ctr ping -c1 -W2 10.0.2.2 >/dev/null 2>&1
  # IPv6: the address may come by SLAAC; the tcp6 lines fail on their own if not.
  if [[ " ${LINES_AT[$mtu]} " == *" tcp6_"* ]]; then
    for ((k = 0; k < 50; k++)); do
      in_ctr ping -6 -c1 -W1 fd00::2 >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  return 0
}
# cpu_ns PID: the CPU time all threads of the process have used so far, in
# nanoseconds (the first field of each thread's schedstat: exact, where
# /proc/PID/stat counts 10 ms ticks, too coarse for a short latency line).
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}
