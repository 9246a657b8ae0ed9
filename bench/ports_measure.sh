#!/usr/bin/env bash
# bench/ports_measure.sh: the measuring half of bench/ports.sh (which builds,
# installs and then calls this; ports_report.py makes the table).
#
# Theory of operation. lib.sh re-executes this script in a fresh user + net +
# pid + mount namespace (the "host"), with subordinate ids mapped for
# RootlessKit (NETD_HARNESS_SUBIDS). Every tool gets its own container with
# an iperf3 server on port 5201 and a servers.py "WHO" server on 7000, both
# on all addresses, published on the host as 0.0.0.0:(15201+i) and
# 0.0.0.0:(17001+i) for tool number i:
#   netd-instack  netd attach -c --disable-dns -p H:5201 -p W:7000 CTR
#   netd-forward  netd forward -p H:5201 -p W:7000 CTR   (connects to 127.0.0.1 inside)
#   slirp4netns   slirp4netns -c --disable-dns --api-socket S CTR tap0, then two
#                 add_hostfwd requests (netd ctl speaks the same protocol)
#   rootlesskit   rootlesskit --net=slirp4netns --port-driver=builtin -p 0.0.0.0:H:5201/tcp
#                 -p 0.0.0.0:W:7000/tcp -- (the servers)
#   pasta13       Debian 13's pasta (in the Debian 13 root's mount namespace,
#                 common.sh's trixie): pasta -f --config-net ... -t H:5201 -t W:7000 CTR
#   netd-pasta    netd as pasta (a symlink named pasta), the same options
#   loopback      the iperf3 server on the host's 127.0.0.1, no container: the ceiling
# All tools are up at once; each line (host -> container, container -> host)
# then runs for every tool back to back, ROUNDS times, the tools' order
# rotated every round, so the ratios compare numbers measured seconds apart.
# A world-namespace client asks the WHO server through 198.51.100.1 which
# address it saw.
#
# Raw results: $BENCH_OUT/raw/TOOL/{h2c,c2h}.rN.json (iperf3 -J) with .err
# when a run failed, TOOL/start.err when the tool did not come up, and
# TOOL/who.txt; lines.tsv (common.sh's line records); started.tsv (each
# tool's command line). Environment: NETD_BIN, BENCH_OUT, BENCH_TOOLS
# (default: all of the above), BENCH_DUR, BENCH_ROUNDS.
NETD_HARNESS_SUBIDS=1
HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh"
# shellcheck source=common.sh
source "$HERE_BENCH/common.sh"
trap - ERR
set +e

RAW="$BENCH_OUT/raw"
DUR=${BENCH_DUR:-3}
ROUNDS=${BENCH_ROUNDS:-3}
BENCH_TOOLS=${BENCH_TOOLS:-loopback netd-instack netd-pasta netd-forward pasta13 slirp4netns rootlesskit}
mkdir -p "$RAW" "$BENCH_OUT/logs"
: >"$BENCH_OUT/started.tsv"

# wait_port PORT: until something listens on the host's PORT (5 s at most).
wait_port() { retry 50 bash -c "ss -Hltn 'sport = :$1' | grep -q LISTEN"; }

# Nothing here resolves names, but the tools' DNS defaults must not point
# outside either: resolv.conf names this namespace's loopback.
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
world_up
# pasta copies its defaults from the interface with the default route.
ip route add default via 198.51.100.10
if [[ " $BENCH_TOOLS " == *" pasta13 "* ]]; then
  trixie_up || log "pasta13: $TRIXIE_ERR"
fi
mkdir -p "$T/netd-as-pasta"
ln -s "$NETD_BIN" "$T/netd-as-pasta/pasta"

# started TOOL ARGV...: the command line, as the report shows it.
started() {
  local tool=$1 a out=("$(basename "$2")")
  shift 2
  for a in "$@"; do [[ "$a" == "$CTR" ]] && out+=(PID) || out+=("${a#"$T"/}"); done
  printf '%s\t-\t%s\n' "$tool" "${out[*]}" >>"$BENCH_OUT/started.tsv"
}

# servers_in_ctr: the iperf3 and WHO servers in the current container.
servers_in_ctr() {
  in_ctr iperf3 -s -p 5201 >>"$BENCH_OUT/logs/iperf3-$1.log" 2>&1 &
  PIDS+=("$!")
  in_ctr "$PY" "$SERVERS" tcp-server 0.0.0.0 7000 &
  PIDS+=("$!")
  wait_listening 5201 in_ctr
  wait_listening 7000 in_ctr
}

declare -A HPORT WPORT TPID TCTR
# start_tool TOOL INDEX: brings TOOL up; returns non-zero with START_ERR set.
start_tool() {
  local tool=$1 i=$2 fifo="$T/ready.$1" lg="$BENCH_OUT/logs/$1.log"
  local h=$((15201 + i)) w=$((17001 + i))
  HPORT[$tool]=$h
  WPORT[$tool]=$w
  START_ERR=""
  CTR=""
  case "$tool" in
    loopback)
      HPORT[$tool]=15200
      iperf3 -s -B 127.0.0.1 -p 15200 >>"$BENCH_OUT/logs/iperf3-loopback.log" 2>&1 &
      TPID[$tool]=$!
      PIDS+=("$!")
      wait_port 15200 || START_ERR="iperf3 server did not start"
      ;;
    pasta13 | netd-pasta)
      container_up
      TCTR[$tool]=$CTR
      servers_in_ctr "$tool"
      local cmd=("$T/netd-as-pasta/pasta")
      if [[ "$tool" == pasta13 ]]; then
        if [[ -z "${PODMAN5_HOLDER:-}" ]]; then
          START_ERR=$TRIXIE_ERR
          return 1
        fi
        cmd=(nsenter --mount="/proc/$PODMAN5_HOLDER/ns/mnt" -- /usr/bin/pasta)
      fi
      local args=(-f --config-net -a 10.0.2.100 -n 24 -g 10.0.2.2 -t "$h:5201" -t "$w:7000" -u none -T none -U none
        "$CTR")
      started "$tool" "${cmd[-1]}" "${args[@]}"
      "${cmd[@]}" "${args[@]}" >"$lg" 2>&1 &
      TPID[$tool]=$!
      PIDS+=("$!")
      wait_port "$h" && wait_port "$w" || START_ERR="ports not published within 5 s ($(tail -n1 "$lg"))"
      ;;
    netd-instack | netd-forward | slirp4netns)
      container_up
      TCTR[$tool]=$CTR
      servers_in_ctr "$tool"
      mkfifo "$fifo"
      exec {rfd}<>"$fifo"
      local cmd=()
      if [[ "$tool" == netd-instack ]]; then
        cmd=("$NETD_BIN" attach -c --disable-dns --log-level warn --ready-fd 3 -p "$h:5201" -p "$w:7000" "$CTR")
      elif [[ "$tool" == netd-forward ]]; then
        cmd=("$NETD_BIN" forward --log-level warn --ready-fd 3 -p "$h:5201" -p "$w:7000" "$CTR")
      else
        cmd=(slirp4netns -c --mtu=65520 --disable-dns --ready-fd=3 --api-socket "$T/s4n.sock" "$CTR" tap0)
      fi
      started "$tool" "${cmd[@]}"
      "${cmd[@]}" 3>"$fifo" >"$lg" 2>&1 &
      TPID[$tool]=$!
      PIDS+=("$!")
      read_ready "$rfd" || START_ERR="not ready within 10 s ($(tail -n1 "$lg"))"
      exec {rfd}<&-
      if [[ -z "$START_ERR" && "$tool" == slirp4netns ]]; then
        local p out
        for p in "$h:5201" "$w:7000"; do
          out=$("$NETD_BIN" ctl --socket "$T/s4n.sock" \
            '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"0.0.0.0","host_port":'"${p%%:*}"',"guest_port":'"${p##*:}"'}}')
          [[ "$out" == *'"return"'* ]] || START_ERR="add_hostfwd: $out"
        done
      fi
      ;;
    rootlesskit)
      mkfifo "$T/rk-stop"
      cat >"$T/rk-inner.sh" <<EOF
iperf3 -s -p 5201 >>"$BENCH_OUT/logs/iperf3-rootlesskit.log" 2>&1 &
a=\$!
"$PY" "$SERVERS" tcp-server 0.0.0.0 7000 &
b=\$!
read -r _ <"$T/rk-stop"
kill \$a \$b
exit 0
EOF
      started rootlesskit rootlesskit --net=slirp4netns --disable-host-loopback --port-driver=builtin \
        -p "0.0.0.0:$h:5201/tcp" -p "0.0.0.0:$w:7000/tcp" -- SERVERS
      rootlesskit --state-dir="$T/rk" --net=slirp4netns --disable-host-loopback --port-driver=builtin \
        -p "0.0.0.0:$h:5201/tcp" -p "0.0.0.0:$w:7000/tcp" -- sh "$T/rk-inner.sh" >"$lg" 2>&1 &
      TPID[$tool]=$!
      PIDS+=("$!")
      wait_port "$h" || START_ERR="port $h not published ($(tail -n1 "$lg"))"
      # The builtin driver listens before the child's server does: wait until
      # a connection through it gets an answer.
      retry 50 in_world "$PY" "$SERVERS" tcp-client 198.51.100.1 "$w" who || START_ERR="no answer through port $w"
      ;;
  esac
  if [[ -n "$START_ERR" ]]; then
    START_ERR="$tool did not start: $START_ERR"
    return 1
  fi
  return 0
}

# iperf_line TOOL NAME ARGS...: one iperf3 run from the host's loopback to the tool's published port.
iperf_line() {
  local tool=$1 name=$2 out
  shift 2
  out="$RAW/$tool/$name"
  log "$tool: $name"
  line_begin
  timeout --kill-after=2 $((DUR + 15)) iperf3 -J -c 127.0.0.1 -p "${HPORT[$tool]}" --connect-timeout 3000 \
    -t "$DUR" "$@" >"$out.json" 2>"$out.stderr"
  local rc=$?
  line_end "${name%.r*}" "$tool" "${name##*.r}"
  ((rc == 0)) || { echo "iperf3 exit $rc"; ((rc == 124)) && echo "timed out"; } >"$out.err"
}

active=()
i=0
for tool in $BENCH_TOOLS; do
  mkdir -p "$RAW/$tool"
  if start_tool "$tool" "$i"; then
    active+=("$tool")
  else
    log "$START_ERR"
    echo "$START_ERR" >"$RAW/$tool/start.err"
  fi
  i=$((i + 1))
done

for tool in "${active[@]}"; do
  [[ "$tool" == loopback ]] && continue
  in_world "$PY" "$SERVERS" tcp-client 198.51.100.1 "${WPORT[$tool]}" who >"$RAW/$tool/who.txt" 2>&1 ||
    echo "failed: $(tail -n1 "$RAW/$tool/who.txt")" >"$RAW/$tool/who.txt"
done
for ((round = 1; round <= ROUNDS; round++)); do
  order=$(rotate $((round - 1)) "${active[@]}")
  for tool in $order; do iperf_line "$tool" "h2c.r$round"; done
  for tool in $order; do iperf_line "$tool" "c2h.r$round" -R; done
done

[[ -p "$T/rk-stop" ]] && timeout 5 bash -c "echo stop >'$T/rk-stop'"
for tool in $BENCH_TOOLS; do
  stop_pid "${TPID[$tool]:-}"
  stop_pid "${TCTR[$tool]:-}"
done
log "measurements done"
exit 0
