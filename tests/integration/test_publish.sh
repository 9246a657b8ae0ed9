#!/usr/bin/env bash
# netd attach -p: published TCP and UDP ports carried through the tap stack. A
# client on the host's loopback and a client in the world namespace reach a
# server in the container; the server sees the world client's real address
# (loopback and IPv6 clients appear as the gateway), for TCP and UDP; UDP
# replies come back from the published port; IPv6 host addresses (loopback
# and the world's) publish too; bulk data arrives intact both ways; a port
# nobody listens on in the container resets the client; a bad spec and (for
# an unprivileged netd) a port below ip_unprivileged_port_start fail clearly.
source "$(dirname "$0")/lib.sh"

world_up
# IPv6 between the host and the world namespace (test addresses, no DAD wait).
ip addr add 2001:db8::1/64 dev veth-h nodad
in_world ip addr add 2001:db8::10/64 dev veth-w nodad
container_up
# The server inside the container, on every address of the guest.
in_ctr "$PY" "$SERVERS" tcp-server 0.0.0.0 8080 &
PIDS+=("$!")
wait_listening 8080 in_ctr
in_ctr "$PY" "$SERVERS" udp-echo 0.0.0.0 5353 &
PIDS+=("$!")
wait_listening 5353 in_ctr
# IPv4-only guest: IPv6 clients of published ports then appear as the gateway
# over IPv4 (test_ipv6.sh covers IPv6 clients reaching an IPv6 guest).
netd_attach --configure --disable-dns --disable-ipv6 -p 127.0.0.1:18080:8080 -p 198.51.100.1:18081:8080 -p 18082:9 \
  -p '[::1]:18083:8080' -p '[2001:db8::1]:18084:8080' \
  -p 127.0.0.1:18053:5353/udp -p 198.51.100.1:18054-18055:5353-5354/udp -p '[::]:18056:5353/udp' \
  --api-socket "$T/api.sock"
client_world() { in_world "$PY" "$SERVERS" tcp-client "$@"; }
client_host() { "$PY" "$SERVERS" tcp-client "$@"; }

out=$(client_host 127.0.0.1 18080 who) || fail "published port from host loopback: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "a loopback client should appear as the gateway, the server saw '$out'"
ok "host loopback client -> container; the server sees the gateway ($out)"

out=$(client_world 198.51.100.1 18081 who) || fail "published port from the world: $out"
[[ "$out" == 198.51.100.10\ * ]] || fail "the server saw '$out', not the world client's address"
ok "world client -> container; the server sees the client's real address ($out)"

out=$(client_world 198.51.100.1 18081 upload 200000000) || fail "upload through the published port: $out"
ok "client -> container through the published port: $out"
out=$(client_host 127.0.0.1 18080 download 200000000) || fail "download through the published port: $out"
ok "container -> client through the published port: $out"
out=$(client_world 198.51.100.1 18081 concurrent 200 2>&1) || fail "concurrent: $out"
ok "200 concurrent connections through the published port: $out"

out=$(client_host ::1 18083 who) || fail "published [::1] port: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "an IPv6 loopback client should appear as the gateway, the server saw '$out'"
out=$(client_world 2001:db8::1 18084 who) || fail "published [2001:db8::1] port from the world: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "an IPv6 client should appear as the gateway, the server saw '$out'"
ok "IPv6 host addresses (loopback and the world's) publish into the IPv4 guest; clients appear as the gateway"

udp_host() { "$PY" "$SERVERS" udp-client "$@"; }
udp_world() { in_world "$PY" "$SERVERS" udp-client "$@"; }
out=$(udp_world 198.51.100.1 18054 WHO) || fail "published UDP port from the world: $out"
[[ "$out" == 198.51.100.10\ * ]] || fail "the UDP server saw '$out', not the world client's address"
out=$(udp_world 198.51.100.1 18054 "$(printf 'x%.0s' {1..1400})") || fail "UDP echo: $out"
[[ ${#out} -eq 1400 ]] || fail "a 1400-byte datagram came back as ${#out} bytes"
ok "world UDP client -> container; the server sees the client's real address; replies come back"
out=$(udp_host 127.0.0.1 18053 WHO) || fail "published UDP port from host loopback: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "a loopback UDP client should appear as the gateway, the server saw '$out'"
out=$(udp_world 2001:db8::1 18056 WHO) || fail "published UDP port on [::] from the world: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "an IPv6 UDP client should appear as the gateway, the server saw '$out'"
rc=0
out=$(udp_world 198.51.100.1 18055 nobody) || rc=$?
[[ $rc -ne 0 ]] || fail "a UDP port with no server behind it answered: $out"
ok "UDP from loopback and IPv6 clients (as the gateway); no server behind 18055 -> no answer"
flows=$(netd_counter udp_published_flows)
[[ "$flows" -ge 4 ]] || fail "udp_published_flows=$flows"

# The same engine behind the API socket of netd attach: ports added at run time
# keep the client's address too.
ctl() { "$NETD_BIN" ctl --socket "$T/api.sock" "$1"; }
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"198.51.100.1","host_port":18090,"guest_port":8080}}')
[[ "$out" == '{"return":{"id":1}}' ]] || fail "add_hostfwd tcp: $out"
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_addr":"::","host_port":18091,"guest_port":5353}}')
[[ "$out" == '{"return":{"id":2}}' ]] || fail "add_hostfwd udp on [::]: $out"
out=$(client_world 198.51.100.1 18090 who) || fail "API forward from the world: $out"
[[ "$out" == 198.51.100.10\ * ]] || fail "through an API forward the server saw '$out'"
out=$(udp_world 2001:db8::1 18091 WHO) || fail "API UDP forward on [::]: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "through the [::] UDP forward the server saw '$out'"
rc=0  # (netd ctl exits 1 for an error reply)
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18092,"guest_addr":"10.0.2.2","guest_port":80}}') || rc=$?
[[ $rc -eq 1 && "$out" == '{"error":{"desc":"add_hostfwd: guest_addr 10.0.2.2 is not a guest address in 10.0.2.0/24"}}' ]] ||
  fail "add_hostfwd to the gateway: exit $rc: $out"
out=$(ctl '{"execute":"remove_hostfwd","arguments":{"id":2}}')
[[ "$out" == '{"return":{}}' ]] || fail "remove_hostfwd: $out"
rc=0
out=$(udp_world 2001:db8::1 18091 WHO) || rc=$?
[[ $rc -ne 0 ]] || fail "a removed UDP forward still answers: $out"
ok "netd attach --api-socket: add_hostfwd keeps the world client's address; bad guest_addr refused; remove_hostfwd"

rc=0
out=$(client_host 127.0.0.1 18082 echo nobody 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "a published port with no server in the container should fail: $out"
ok "no server behind the published port: the client is reset (rc=$rc)"

rc=0
"$NETD_BIN" attach -p 70000:80 "$CTR" 2>"$T/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "70000" "$T/err" || fail "bad -p spec: rc=$rc $(cat "$T/err")"
ok "a bad -p spec is refused with exit 2"
if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then
  rc=0
  setpriv --bounding-set=-all --inh-caps=-all "$NETD_BIN" attach --tap tap1 -p 127.0.0.1:80:80 "$CTR" 2>"$T/err" || rc=$?
  [[ $rc -ne 0 ]] && grep -q "ip_unprivileged_port_start" "$T/err" || fail "port 80 unprivileged: rc=$rc $(cat "$T/err")"
  ok "an unprivileged netd names net.ipv4.ip_unprivileged_port_start for port 80"
fi
pass
