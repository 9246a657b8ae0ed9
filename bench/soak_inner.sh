#!/usr/bin/env bash
# The body of bench/soak.sh, run inside the integration harness.
source "$NETD_SRC/tests/integration/lib.sh"

world_up
world_server tcp-server 8080
world_server echo-async 8090
world_server udp-echo 7
world_server dns 53
container_up
netd_attach --dns-upstream 198.51.100.10
dhcp_lease

end=$((SECONDS + SOAK_SECONDS))
workload() {
  local round=0
  while ((SECONDS < end)); do
    round=$((round + 1))
    in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 download 200000000 >/dev/null 2>&1 || echo "round $round: download failed"
    in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 upload 100000000 >/dev/null 2>&1 || echo "round $round: upload failed"
    in_ctr "$PY" "$SERVERS" hold 198.51.100.10 8090 2000 0 0 >/dev/null 2>&1 || echo "round $round: 2000 connections failed"
    for i in 1 2 3 4 5; do
      in_ctr "$PY" "$SERVERS" udp-client 198.51.100.10 7 "soak $round $i" >/dev/null 2>&1 || echo "round $round: udp failed"
      in_ctr dig +short +time=2 +tries=1 @10.0.2.3 "n$round-$i.test" A >/dev/null 2>&1 || echo "round $round: dns failed"
    done
    in_ctr ping -c 3 -i 0.2 -W 2 198.51.100.10 >/dev/null 2>&1 || echo "round $round: ping failed"
  done
  echo "rounds $round"
}
workload >"$T/workload.out" 2>&1 &
WORK=$!
PIDS+=("$WORK")

echo "t_s rss_kib fds"
rss_min=0 rss_max=0 fds_max=0
while ((SECONDS < end)); do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$NETD_PID/status")
  fds=$(ls "/proc/$NETD_PID/fd" | wc -l)
  echo "$((SECONDS)) $rss $fds"
  ((rss_min == 0 || rss < rss_min)) && rss_min=$rss
  ((rss > rss_max)) && rss_max=$rss
  ((fds > fds_max)) && fds_max=$fds
  sleep 10
done
wait "$WORK" || true
sleep 2
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$NETD_PID/status")
fds=$(ls "/proc/$NETD_PID/fd" | wc -l)
kill -0 "$NETD_PID" || fail "netd died during the soak"
echo "end $rss $fds"
cat "$T/workload.out"
echo "summary: ${SOAK_SECONDS} s, $(tail -n1 "$T/workload.out"), RSS min $rss_min max $rss_max end $rss KiB," \
  "fds max $fds_max end $fds, failures $(grep -c failed "$T/workload.out" || true)," \
  "counters $(netd_counter tcp_conns_opened) tcp opened / $(netd_counter tcp_conns_closed) closed"
pass
