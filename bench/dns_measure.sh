#!/usr/bin/env bash
# bench/dns_measure.sh: the measuring half of bench/dns.sh (see there).
# lib.sh re-executes it in a fresh user + net + pid + mount namespace.
# Environment: NETD_BIN, AARDVARK, BENCH_OUT, BENCH_SECONDS, BENCH_ROUNDS.
HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh"
trap - ERR
set +e

RAW=$BENCH_OUT/raw
mkdir -p "$RAW" "$BENCH_OUT/logs"
N=100
ip addr add 127.77.0.1/8 dev lo 2>/dev/null  # lo holds all of 127/8 already; harmless

# The upstream: netd dns, authoritative for fwdN.example (TTL 300), on 127.0.0.1:53.
mkdir -p "$T/up"
{
  echo "127.0.0.1"
  for ((i = 0; i < N; i++)); do echo "u$i 192.0.2.$((i % 250 + 1))  fwd$i.example"; done
} >"$T/up/upstream"
"$NETD_BIN" dns --config "$T/up" -p 53 --foreground --ttl 300 --upstream 127.0.0.1:9 --log-level warn run \
  2>"$BENCH_OUT/logs/upstream.log" &
PIDS+=("$!")
wait_listening 53 env

# The servers under test: one config, as netavark writes it.
mkdir -p "$T/cfg"
{
  echo "127.77.0.1"
  for ((i = 0; i < N; i++)); do echo "ctr$i 127.77.1.$((i + 2))  c$i,alias$i"; done
} >"$T/cfg/bench"
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
for ((i = 0; i < N; i++)); do echo "c$i.dns.podman A"; done >"$T/q-local"
for ((i = 0; i < N; i++)); do echo "fwd$i.example A"; done >"$T/q-fwd"

start_server() {  # NAME: start it on 127.77.0.1:5353, foreground, pid in SERVER
  rm -f "$T/cfg/aardvark.pid"
  case "$1" in
    netd) "$NETD_BIN" dns --config "$T/cfg" -p 5353 --foreground --log-level warn run 2>>"$BENCH_OUT/logs/netd.log" & ;;
    netd-nocache) "$NETD_BIN" dns --config "$T/cfg" -p 5353 --foreground --no-cache --log-level warn run 2>>"$BENCH_OUT/logs/netd.log" & ;;
    aardvark) "$AARDVARK" --config "$T/cfg" -p 5353 run >>"$BENCH_OUT/logs/aardvark.log" 2>&1 & ;;
  esac
  SERVER=$!
  PIDS+=("$SERVER")
  for ((w = 0; w < 100; w++)); do
    dig +short +time=1 +tries=1 -p 5353 -b 127.77.1.2 @127.77.0.1 c0.dns.podman 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
stop_server() {
  kill "$SERVER" 2>/dev/null
  # aardvark-dns daemonizes unless told otherwise: its pid file names the server.
  [[ -f "$T/cfg/aardvark.pid" ]] && kill "$(cat "$T/cfg/aardvark.pid" 2>/dev/null)" 2>/dev/null
  wait "$SERVER" 2>/dev/null
  sleep 0.3
}
# Two lines per server and query set, on one server instance: throughput
# (4 clients, 200 queries outstanding: as fast as it goes; latency there is
# mostly queueing) and latency at a fixed, light load (1000 queries/s).
measure() {  # SERVER QUERIES LABEL ROUND
  local out="$RAW/$1.$3.r$4.txt" lat="$RAW/$1.$3-latency.r$4.txt"
  if ! start_server "$1"; then
    echo "did not answer" >"${out%.txt}.err"
    stop_server
    return
  fi
  # Warm-up pass (fills netd's cache for the forwarded names), then the measurement.
  dnsperf -s 127.77.0.1 -p 5353 -a 127.77.1.2 -d "$2" -n 1 >/dev/null 2>&1
  # The server's CPU time (all threads) across the throughput line: dnsperf
  # may be the bottleneck, so queries/s alone does not show the server's cost.
  local pid=$SERVER
  [[ "$1" == aardvark ]] && pid=$(cat "$T/cfg/aardvark.pid" 2>/dev/null)
  local t0
  t0=$(cpu_ticks "$pid")
  timeout $((BENCH_SECONDS + 20)) dnsperf -s 127.77.0.1 -p 5353 -a 127.77.1.2 -d "$2" -l "$BENCH_SECONDS" \
    -c 4 -q 200 -T 1 >"$out" 2>&1 || echo "dnsperf failed" >"${out%.txt}.err"
  echo "$(($(cpu_ticks "$pid") - t0)) $(getconf CLK_TCK)" >"${out%.txt}.cpu"
  timeout $((BENCH_SECONDS + 20)) dnsperf -s 127.77.0.1 -p 5353 -a 127.77.1.2 -d "$2" -l "$BENCH_SECONDS" \
    -c 1 -q 20 -Q 1000 -T 1 >"$lat" 2>&1 || echo "dnsperf failed" >"${lat%.txt}.err"
  stop_server
}

for ((r = 1; r <= BENCH_ROUNDS; r++)); do
  for s in netd aardvark; do
    measure "$s" "$T/q-local" local "$r"
    measure "$s" "$T/q-fwd" forwarded "$r"
  done
  measure netd-nocache "$T/q-fwd" forwarded "$r"
  echo "bench/dns: round $r done" >&2
done
exit 0
