#!/usr/bin/env bash
# netd attach, part 1: DHCP lease and routes, ping (gateway and a world host),
# UDP to a world host and to host loopback via the gateway (single datagrams,
# and bursts that leave netd as segmented sends), ICMP port unreachable, DNS through the DNS address, TCP refused and (without tap
# offloads, so the full-checksum path is covered) a TCP transfer, garbage
# frames counted, and exit when the namespace's process dies.
source "$(dirname "$0")/lib.sh"
need_tools dig

world_up
world_server udp-echo 7
world_server dns 53
world_server tcp-server 8080
host_server udp-echo 5007
container_up
netd_attach --dns-upstream 198.51.100.10 --pcap "$T/attach.pcap" --no-offload

dhcp_lease
in_ctr ip -4 addr show dev tap0 | grep "inet 10.0.2.100/24" >/dev/null || fail "guest address missing"
in_ctr ip route | grep "default via 10.0.2.2" >/dev/null || fail "default route missing"
[[ "$(cat "$T/lease-dns")" == "10.0.2.3" ]] || fail "DHCP DNS option is '$(cat "$T/lease-dns")'"
in_ctr ip -o link show tap0 | grep "mtu 65520" >/dev/null || fail "DHCP MTU option not applied"
ok "DHCP lease, route, DNS and MTU options"

in_ctr ping -c 2 -W 2 10.0.2.2 >/dev/null || fail "ping gateway"
ok "ping gateway"
in_ctr ping -c 2 -W 2 198.51.100.10 >/dev/null || fail "ping world host"
ok "ping world host (ping socket)"

out=$(in_ctr "$PY" "$SERVERS" udp-client 198.51.100.10 7 hello-world) || fail "UDP to world: $out"
[[ "$out" == "hello-world" ]] || fail "UDP echo from world returned '$out'"
ok "UDP echo with a world host"

out=$(in_ctr "$PY" "$SERVERS" udp-client 10.0.2.2 5007 hello-loopback) || fail "UDP via gateway: $out"
[[ "$out" == "hello-loopback" ]] || fail "UDP echo via gateway returned '$out'"
ok "UDP echo with host loopback through the gateway"

# A burst written while netd is stopped waits in the tap and is read in one
# batch: netd sends it on with UDP_SEGMENT; every datagram must come back
# as it was (sizes, order of bytes, the shorter one in the middle).
for dst in "198.51.100.10 7" "10.0.2.2 5007"; do
  before=$(netd_counter udp_segmented_sends)
  kill -STOP "$NETD_PID"
  in_ctr_bg "$PY" "$SERVERS" udp-burst $dst 40 1200
  sleep 0.5
  kill -CONT "$NETD_PID"
  wait "$BG_PID" || fail "UDP burst to $dst"
  after=$(netd_counter udp_segmented_sends)
  [[ "$after" -gt "$before" ]] || fail "the burst to $dst left netd one datagram at a time ($before -> $after)"
done
ok "UDP bursts leave as segmented sends and arrive intact"

rc=0
out=$(in_ctr "$PY" "$SERVERS" udp-client 198.51.100.10 9 nobody-home) || rc=$?
[[ $rc -eq 3 ]] || fail "UDP to a closed world port: expected refused, got rc=$rc '$out'"
ok "ICMP port unreachable reaches the guest"

ans=$(in_ctr dig +short +tries=1 +time=3 @10.0.2.3 host.test A) || fail "dig failed"
[[ "$ans" == "192.0.2.55" ]] || fail "DNS answer was '$ans'"
rc=0
in_ctr dig +tries=1 +time=3 @10.0.2.3 unknown.example A >"$T/dig.out" || rc=$?
grep -q "status: NXDOMAIN" "$T/dig.out" || fail "NXDOMAIN not relayed"
ans=$(in_ctr dig +tcp +short +tries=1 +time=3 @10.0.2.3 tcp.test A) || fail "dig +tcp failed"
[[ "$ans" == "192.0.2.55" ]] || fail "DNS over TCP answer was '$ans'"
ok "DNS through 10.0.2.3 (UDP, and TCP to the first upstream) reaches the world's DNS server"

rc=0
in_ctr bash -c 'exec 3<>/dev/tcp/198.51.100.10/80' 2>"$T/tcp.err" || rc=$?
[[ $rc -ne 0 ]] && grep -qi "refused" "$T/tcp.err" || fail "TCP connect was not refused (rc=$rc: $(cat "$T/tcp.err"))"
ok "TCP to a closed world port is refused"
out=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 download 20000000) || fail "TCP download: $out"
out=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 upload 20000000) || fail "TCP upload: $out"
ok "TCP transfers both ways without tap offloads ($out)"

sent=$(in_ctr "$PY" "$SERVERS" garbage tap0 2000)
[[ "$sent" -gt 1000 ]] || fail "garbage sender sent only $sent frames"
in_ctr ping -c 1 -W 2 10.0.2.2 >/dev/null || fail "netd stopped answering after garbage"
kill -0 "$NETD_PID" || fail "netd died on garbage frames"
malformed=$(netd_counter drop_malformed)
[[ "${malformed:-0}" -gt 0 ]] || fail "drop_malformed counter is '${malformed}'"
ok "$sent garbage frames: netd alive, drop_malformed=$malformed"

[[ -s "$T/attach.pcap" ]] || fail "pcap file is empty"
ok "pcap written ($(stat -c %s "$T/attach.pcap") bytes)"

kill "$CTR"
for ((i = 0; i < 50; i++)); do kill -0 "$NETD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NETD_PID" 2>/dev/null && fail "netd still running after the container process exited"
wait "$NETD_PID" && rc=0 || rc=$?
[[ $rc -eq 0 ]] || fail "netd exited with $rc after the container went away"
ok "netd exits when the namespace's process exits"
pass
