#!/usr/bin/env bash
# netd attach, part 2: TCP translation. Bulk transfers both ways with a
# payload checksum, 1000 concurrent request/response connections, half-close,
# refused connections, a reset mid-transfer, a peer that stops reading and
# resumes (the guest's window closes and reopens), to a world host and to
# host loopback through the gateway.
source "$(dirname "$0")/lib.sh"

BULK=${NETD_TEST_TCP_BULK:-1073741824}  # 1 GiB each way

world_up
world_server tcp-server 8080
host_server tcp-server 8081
container_up
netd_attach --configure --dns-upstream 198.51.100.10
in_ctr ip -o addr show tap0 | grep "inet 10.0.2.100/24" >/dev/null || fail "--configure did not set 10.0.2.100/24 on tap0"

client() { in_ctr "$PY" "$SERVERS" tcp-client "$@"; }

out=$(client 198.51.100.10 8080 echo hello-tcp) || fail "echo to world: $out"
ok "TCP echo with a world host ($out)"
out=$(client 10.0.2.2 8081 echo hello-loopback) || fail "echo via gateway: $out"
ok "TCP echo with host loopback through the gateway ($out)"

start=$(date +%s.%N)
out=$(client 198.51.100.10 8080 upload "$BULK") || fail "upload: $out"
end=$(date +%s.%N)
ok "upload container -> world: $out in $(echo "$end - $start" | bc) s"
start=$(date +%s.%N)
out=$(client 198.51.100.10 8080 download "$BULK") || fail "download: $out"
end=$(date +%s.%N)
ok "download world -> container: $out in $(echo "$end - $start" | bc) s"
out=$(client 10.0.2.2 8081 download 50000000) || fail "download via gateway: $out"
ok "download host loopback -> container: $out"

out=$(client 198.51.100.10 8080 concurrent 1000 2>&1) || fail "concurrent: $(echo "$out" | tail -n 5)"
ok "1000 concurrent request/response connections: $out"

out=$(client 198.51.100.10 8080 half-close 100000) || fail "half-close: $out"
ok "half-close: the client shut its write side and still read the answer ($out)"

rc=0
out=$(client 198.51.100.10 9 echo nobody) || rc=$?
[[ $rc -eq 3 ]] || fail "connect to a closed world port: expected ECONNREFUSED, got rc=$rc $out"
ok "connection refused -> ECONNREFUSED in the container"

out=$(client 198.51.100.10 8080 expect-reset 5000000) || fail "reset: $out"
ok "RST mid-transfer reaches the container as ECONNRESET ($out)"

out=$(client 198.51.100.10 8080 slow 16000000) || fail "slow reader: $out"
ok "peer stops reading for 2 s, then resumes: all bytes arrive intact ($out)"

sleep 0.5
conns=$(netd_counter tcp_conns_opened)
closed=$(netd_counter tcp_conns_closed)
log "tcp_conns_opened=$conns tcp_conns_closed=$closed"
[[ "$conns" -ge 1006 ]] || fail "expected >= 1006 connections, netd counted $conns"
kill -0 "$NETD_PID" || fail "netd died"
pass
