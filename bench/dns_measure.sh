#!/usr/bin/env bash
# bench/dns_measure.sh: the DNS section of bench/run.sh: netd dns next to
# aardvark-dns 1.4 (Debian 12) and 1.14 (Debian 13), with dnsperf.
#
# Theory of operation. lib.sh re-executes this script in a fresh user + net
# + pid + mount namespace; every server runs there, one at a time, on
# 127.77.0.1:5353, reading one aardvark config directory (N_CTRS containers
# with a name and an alias each on one network, as netavark writes it) and
# the same /etc/resolv.conf (nameserver 127.0.0.1), where a test upstream
# (another netd dns, authoritative for fwdN.example with TTL 300) answers.
# aardvark13 runs inside the Debian 13 root's mount namespace (common.sh's
# trixie; it needs that root's libraries): same network namespace, same
# config directory (bound at the same path), same resolv.conf.
# For each server and query set dnsperf asks from a container's address
# (127.77.1.2), after one unmeasured warm-up pass:
#   LINE.rN.txt          saturating: -c 4 -q 200, for the rate (dnsperf is
#                        one thread on the same CPUs: the server's CPU per
#                        query, LINE.rN.cpu, shows its own cost)
#   LINE-latency.rN.txt  a fixed light load, -Q LIGHT_QPS, for the latency
# LINE is local (cN.dns.podman, answered by the server) or forwarded
# (fwdN.example: netd answers from its cache after the warm-up;
# aardvark-dns has no cache and forwards each); netd-nocache does forwarded
# only. ROUNDS rounds, the servers' order rotated every round.
#
# Raw results: $BENCH_OUT/raw/SERVER.LINE.rN.{txt,cpu} (dnsperf's output;
# .err beside a failed one), lines.tsv, started.tsv. Environment: NETD_BIN,
# BENCH_OUT, BENCH_SECONDS, BENCH_ROUNDS.
HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh"
# shellcheck source=common.sh
source "$HERE_BENCH/common.sh"
trap - ERR
set +e

RAW=$BENCH_OUT/raw
SECONDS_PER=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
mkdir -p "$RAW" "$BENCH_OUT/logs"
: >"$BENCH_OUT/started.tsv"
N_CTRS=100
LIGHT_QPS=1000  # the latency pass' offered rate
printf 'containers=%s\nlight_qps=%s\n' "$N_CTRS" "$LIGHT_QPS" >>"$BENCH_OUT/facts.txt"
AARDVARK12=/usr/lib/podman/aardvark-dns
AARDVARK13=/usr/lib/podman/aardvark-dns  # (the path inside the Debian 13 root)

# The upstream: netd dns, authoritative for fwdN.example (TTL 300), on 127.0.0.1:53.
mkdir -p "$T/up"
{
  echo "127.0.0.1"
  for ((i = 0; i < N_CTRS; i++)); do echo "u$i 192.0.2.$((i % 250 + 1))  fwd$i.example"; done
} >"$T/up/upstream"
"$NETD_BIN" dns --config "$T/up" -p 53 --foreground --ttl 300 --upstream 127.0.0.1:9 --log-level warn run \
  2>"$BENCH_OUT/logs/upstream.log" &
PIDS+=("$!")
wait_listening 53 env

# The servers under test: one config, as netavark writes it.
mkdir -p "$T/cfg"
{
  echo "127.77.0.1"
  for ((i = 0; i < N_CTRS; i++)); do echo "ctr$i 127.77.1.$((i + 2))  c$i,alias$i"; done
} >"$T/cfg/bench"
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
for ((i = 0; i < N_CTRS; i++)); do echo "c$i.dns.podman A"; done >"$T/q-local"
for ((i = 0; i < N_CTRS; i++)); do echo "fwd$i.example A"; done >"$T/q-fwd"
trixie_up || log "aardvark13: $TRIXIE_ERR"

# start_server NAME: on 127.77.0.1:5353, foreground; its pid in SERVER (for
# aardvark-dns, which may daemonize, the pid its pid file names).
start_server() {
  local cmd=()
  rm -f "$T/cfg/aardvark.pid"
  case "$1" in
    netd) cmd=("$NETD_BIN" dns --config "$T/cfg" -p 5353 --foreground --log-level warn run) ;;
    netd-nocache) cmd=("$NETD_BIN" dns --config "$T/cfg" -p 5353 --foreground --no-cache --log-level warn run) ;;
    aardvark12) cmd=("$AARDVARK12" --config "$T/cfg" -p 5353 run) ;;
    aardvark13)
      [[ -n "${PODMAN5_HOLDER:-}" ]] || return 1
      cmd=(nsenter --mount="/proc/$PODMAN5_HOLDER/ns/mnt" -- "$AARDVARK13" --config "$T/cfg" -p 5353 run)
      ;;
  esac
  local shown="${cmd[*]}"
  shown=${shown#nsenter --mount=/proc/$PODMAN5_HOLDER/ns/mnt -- }
  shown=${shown//$T\//}
  printf '%s\t-\t%s\n' "$1" "${shown//$NETD_BIN/netd}" >>"$BENCH_OUT/started.tsv"
  "${cmd[@]}" >>"$BENCH_OUT/logs/$1.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
  for ((w = 0; w < 100; w++)); do
    if dig +short +time=1 +tries=1 -p 5353 -b 127.77.1.2 @127.77.0.1 c0.dns.podman 2>/dev/null | grep -q .; then
      [[ -s "$T/cfg/aardvark.pid" ]] && SERVER=$(cat "$T/cfg/aardvark.pid")
      return 0
    fi
    sleep 0.05
  done
  return 1
}
stop_server() {
  kill "$SERVER" 2>/dev/null
  [[ -f "$T/cfg/aardvark.pid" ]] && kill "$(cat "$T/cfg/aardvark.pid" 2>/dev/null)" 2>/dev/null
  wait "$SERVER" 2>/dev/null
  for ((w = 0; w < 30; w++)); do
    ss -Hlun 'sport = :5353' | grep -q . || break
    sleep 0.1
  done
}
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# measure SERVER QUERIES LINE ROUND: the two dnsperf passes on one instance.
measure() {
  local out="$RAW/$1.$3.r$4.txt" lat="$RAW/$1.$3-latency.r$4.txt"
  log "$1: $3, round $4"
  if ! start_server "$1"; then
    echo "did not answer${TRIXIE_ERR:+ ($TRIXIE_ERR)}" >"${out%.txt}.err"
    stop_server
    return
  fi
  dnsperf -s 127.77.0.1 -p 5353 -a 127.77.1.2 -d "$2" -n 1 -t 1 >/dev/null 2>&1
  local t0
  t0=$(cpu_ticks "$SERVER")
  line_begin
  timeout $((SECONDS_PER + 20)) dnsperf -s 127.77.0.1 -p 5353 -a 127.77.1.2 -d "$2" -l "$SECONDS_PER" -t 1 \
    -c 4 -q 200 -T 1 >"$out" 2>&1 || echo "dnsperf failed" >"${out%.txt}.err"
  line_end "$3" "$1" "$4"
  echo "$(($(cpu_ticks "$SERVER") - t0)) $(getconf CLK_TCK)" >"${out%.txt}.cpu"
  line_begin
  timeout $((SECONDS_PER + 20)) dnsperf -s 127.77.0.1 -p 5353 -a 127.77.1.2 -d "$2" -l "$SECONDS_PER" -t 1 \
    -c 1 -q 20 -Q "$LIGHT_QPS" -T 1 >"$lat" 2>&1 || echo "dnsperf failed" >"${lat%.txt}.err"
  line_end "$3-latency" "$1" "$4"
  stop_server
}

for ((r = 1; r <= ROUNDS; r++)); do
  for s in $(rotate $((r - 1)) netd aardvark12 aardvark13 netd-nocache); do
    [[ "$s" == netd-nocache ]] || measure "$s" "$T/q-local" local "$r"
    measure "$s" "$T/q-fwd" forwarded "$r"
  done
done
exit 0
