#!/usr/bin/env bash
# IPv6 through `netd attach`: the guest autoconfigures from netd's router
# advertisements (SLAAC in fd00::/64, default route via fe80::2, DNS from
# RDNSS), pings the gateway (answered by netd) and a world host (ping
# sockets), and carries UDP and TCP to a world host (2001:db8::10) and to the
# host's ::1 through the gateway fd00::2; DNS reaches netd's forwarder at
# fd00::3. Published ports on IPv6 host addresses reach the guest over IPv6
# from the client's real address. Then the host namespace loses IPv6
# (disable_ipv6): a new netd
# still starts, serves IPv4, and the guest's IPv6 to the outside fails fast
# with ICMPv6 unreachable instead of hanging, with one log line saying why.
source "$(dirname "$0")/lib.sh"
need_tools dig

world_up
world_ipv6_up
world_server tcp-server 8080 2001:db8::10
world_server udp-echo 7 2001:db8::10
world_server dns 53
host_server tcp-server 8081 ::1
host_server udp-echo 5007 ::1
container_up
in_ctr "$PY" "$SERVERS" tcp-server :: 8080 &
PIDS+=("$!")
wait_listening 8080 in_ctr
netd_attach --configure --dns-upstream 198.51.100.10 -p "[::]:18090:8080" -p "[::1]:18091:8080"

# SLAAC: a global fd00::/64 address that finished DAD, and the default route.
addr=$(wait_slaac)
routes=$(in_ctr ip -6 route show default)
grep -q "via fe80::2 dev tap0" <<<"$routes" || fail "no default route via fe80::2: $routes"
ok "SLAAC address $addr, default route via fe80::2"

in_ctr ping -6 -c 1 -W 3 fd00::2 >/dev/null || fail "ping6 gateway"
in_ctr ping -6 -c 1 -W 3 2001:db8::10 >/dev/null || fail "ping6 world host"
ok "ping6 to the gateway (netd) and to a world host (ping socket)"

client() { in_ctr "$PY" "$SERVERS" "$@"; }
out=$(client udp-client 2001:db8::10 7 hello-v6-world) || fail "UDP to world over IPv6: $out"
[[ "$out" == hello-v6-world ]] || fail "UDP echo mismatch: $out"
out=$(client udp-client fd00::2 5007 hello-v6-loopback) || fail "UDP via gateway to ::1: $out"
[[ "$out" == hello-v6-loopback ]] || fail "UDP echo via gateway mismatch: $out"
rc=0
out=$(client udp-client 2001:db8::10 9 nobody-home) || rc=$?
[[ $rc -eq 3 ]] || fail "UDP to a closed world port over IPv6: expected refused, got rc=$rc $out"
ok "UDP over IPv6 to a world host and to host ::1; closed port -> ICMPv6 port unreachable"

out=$(client tcp-client 2001:db8::10 8080 echo hello-tcp6) || fail "TCP echo to world over IPv6: $out"
out=$(client tcp-client fd00::2 8081 echo hello-tcp6-loopback) || fail "TCP echo via gateway: $out"
out=$(client tcp-client 2001:db8::10 8080 download 50000000) || fail "TCP download over IPv6: $out"
out=$(client tcp-client 2001:db8::10 8080 upload 50000000) || fail "TCP upload over IPv6: $out"
ok "TCP over IPv6: echo (world, host ::1), 50 MB each way ($out)"

ans=$(in_ctr dig +short +tries=1 +time=3 @fd00::3 host.test A) || fail "dig @fd00::3 failed"
[[ "$ans" == 192.0.2.55 ]] || fail "DNS over IPv6 answered '$ans'"
ok "DNS to fd00::3 relayed upstream"

out=$(in_world "$PY" "$SERVERS" tcp-client 2001:db8::1 18090 who) || fail "published [::] port from the world: $out"
[[ "$out" == 2001:db8::10\ * ]] || fail "the guest saw '$out', not the IPv6 client's address"
out=$("$PY" "$SERVERS" tcp-client ::1 18091 who) || fail "published [::1] port from the host: $out"
[[ "$out" == fd00::2\ * ]] || fail "a ::1 client should appear as fd00::2, the guest saw '$out'"
out=$(in_world "$PY" "$SERVERS" tcp-client 2001:db8::1 18090 download 20000000) || fail "download through [::]: $out"
ok "published IPv6 ports: the guest sees the world client's address and ::1 as fd00::2 ($out)"

# ---- a host namespace without IPv6 -------------------------------------------
kill "$NETD_PID"
wait "$NETD_PID" 2>/dev/null || true
for c in all default lo veth-h; do sysctl -qw "net.ipv6.conf.$c.disable_ipv6=1"; done
ip -6 addr show | grep -q inet6 && fail "host namespace still has IPv6 addresses"
: >"$NETD_LOG"
container_up
netd_attach --configure --dns-upstream 198.51.100.10
world_server tcp-server 8082
out=$(client tcp-client 198.51.100.10 8082 echo still-v4) || fail "IPv4 without host IPv6: $out"
ok "IPv4 still served when the host has no IPv6 ($out)"

addr=$(wait_slaac)
# Connecting must fail at once with "network unreachable" (an ICMPv6 error
# from netd), not time out.
out=$(in_ctr timeout 10 "$PY" -c '
import errno, socket, sys, time
t = time.monotonic()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(8)
try:
    s.connect(("2001:db8::10", 8080))
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), round(time.monotonic() - t, 2))
    sys.exit(0 if e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) else 1)
print("connected?")
sys.exit(1)
') || fail "IPv6 connect without host IPv6 did not fail as unreachable: $out"
ok "guest IPv6 to the outside fails fast as unreachable: $out"
rc=0
out=$(in_ctr ping -6 -c 1 -W 3 2001:db8::10 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "ping6 to the world succeeded without host IPv6"
grep -qi "unreachable" <<<"$out" || fail "ping6 did not report unreachable: $out"
grep -q "IPv6 from the namespace cannot leave this host" "$NETD_LOG" || fail "no log line explaining the IPv6 failure"
ok "ping6 reports unreachable; netd logged why"
