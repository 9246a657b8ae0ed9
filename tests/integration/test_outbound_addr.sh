#!/usr/bin/env bash
# --outbound-addr / --outbound-addr6 (netd slirp4netns and netd attach): the
# host sockets netd opens for the guest bind to the given source, so the
# world peer sees that address for TCP, UDP, ICMP echo and the DNS
# forwarder's queries, over IPv4 and IPv6; an interface name means its
# address (IPv6: not the link-local one); the gateway (host loopback) still
# works; an address the host does not have, or an unknown interface, stops
# start-up with exit 1 and a message.
#
# The second source lives on its own veth (out0, both ends here) with
# 198.51.100.2/32 and 2001:db8::2/128: without the option the kernel picks
# the world link's 198.51.100.1 and 2001:db8::1, so the peer's view tells
# the two apart.
source "$(dirname "$0")/lib.sh"
need_tools dig

world_up
world_ipv6_up
ip link add out0 type veth peer name out0p
ip link set out0p up
ip link set out0 up
ip addr add 198.51.100.2/32 dev out0
ip addr add 2001:db8::2/128 dev out0 nodad
# The world answers 198.51.100.2 by ARP (any local address, as Linux does);
# IPv6 neighbour discovery answers only for the link's own addresses: route.
in_world ip -6 route add 2001:db8::2/128 via 2001:db8::1
printf 'nameserver 198.51.100.10\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf

world_server dns 53
world_server tcp-server 7001
world_server udp-echo 7002
world_server tcp-server 7003 2001:db8::10
host_server tcp-server 8081
in_world "$PY" "$SERVERS" sniff "$T/sniff" &
PIDS+=("$!")
for ((i = 0; i < 50; i++)); do grep -q ready "$T/sniff" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$T/sniff" || fail "the world's sniffer did not start"

# Start-up errors come first (nothing to clean up).
container_up
rc=0
"$NETD_BIN" slirp4netns --outbound-addr=198.51.100.99 "$CTR" >"$T/err" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "an address the host lacks: exit $rc"
grep -q "cannot use 198.51.100.99 as a source address.*not an address of this host" "$T/err" ||
  fail "message: $(cat "$T/err")"
rc=0
"$NETD_BIN" slirp4netns --outbound-addr6=nosuch0 "$CTR" >"$T/err" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "an unknown interface: exit $rc"
grep -q "no interface or address named 'nosuch0'" "$T/err" || fail "message: $(cat "$T/err")"
rc=0
"$NETD_BIN" attach --outbound-addr6 2001:db8::99 "$CTR" >"$T/err" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "attach: an IPv6 address the host lacks: exit $rc"
grep -q "cannot use 2001:db8::99 as a source address" "$T/err" || fail "message: $(cat "$T/err")"
rc=0
"$NETD_BIN" attach --outbound-addr ::1 "$CTR" >"$T/err" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "attach --outbound-addr ::1: exit $rc"
grep -q "is an IPv6 address (use --outbound-addr6)" "$T/err" || fail "message: $(cat "$T/err")"
ok "start-up errors: an address the host lacks, an unknown interface, the wrong family"

# who PROTO ADDR PORT: the address the world peer saw (first word of its answer).
who() {
  local out
  if [[ $1 == tcp ]]; then
    out=$(in_ctr "$PY" "$SERVERS" tcp-client "$2" "$3" who) || fail "tcp to $2:$3: $out"
  else
    out=$(in_ctr "$PY" "$SERVERS" udp-client "$2" "$3" WHO) || fail "udp to $2:$3: $out"
  fi
  echo "${out%% *}"
}

# slirp4netns (sandbox and seccomp on, as podman runs it): IPv4 by address,
# IPv6 by interface name (out0's first address is its link-local one, which
# must be skipped).
netd_slirp4netns -c -6 --enable-sandbox --enable-seccomp --outbound-addr=198.51.100.2 --outbound-addr6=out0 "$CTR" tap0
grep -q "outbound IPv4 traffic leaves from 198.51.100.2" "$NETD_LOG" || fail "no start-up line for IPv4"
grep -q "outbound IPv6 traffic leaves from 2001:db8::2" "$NETD_LOG" || fail "no start-up line for IPv6 (out0)"
wait_slaac >/dev/null
[[ "$(who tcp 198.51.100.10 7001)" == 198.51.100.2 ]] || fail "TCP source: $(who tcp 198.51.100.10 7001)"
[[ "$(who udp 198.51.100.10 7002)" == 198.51.100.2 ]] || fail "UDP source: $(who udp 198.51.100.10 7002)"
[[ "$(who tcp 2001:db8::10 7003)" == 2001:db8::2 ]] || fail "TCP/IPv6 source: $(who tcp 2001:db8::10 7003)"
in_ctr ping -c 1 -W 3 198.51.100.10 >/dev/null || fail "ping 198.51.100.10"
in_ctr ping -6 -c 1 -W 3 2001:db8::10 >/dev/null || fail "ping 2001:db8::10"
[[ "$(in_ctr dig +short +time=3 +tries=1 @10.0.2.3 name.test)" == 192.0.2.55 ]] || fail "DNS through 10.0.2.3"
for ((i = 0; i < 30; i++)); do
  grep -q "^icmp 198.51.100.2$" "$T/sniff" && grep -q "^icmp 2001:db8::2$" "$T/sniff" &&
    grep -q "^udp 198.51.100.2 53$" "$T/sniff" && break
  sleep 0.1
done
for line in "icmp 198.51.100.2" "icmp 2001:db8::2" "udp 198.51.100.2 53"; do
  grep -q "^$line$" "$T/sniff" || fail "the world did not see '$line': $(sort -u "$T/sniff" | tr '\n' ';')"
done
if grep -Eq "^(icmp|udp) (198.51.100.1|2001:db8::1)( |$)" "$T/sniff"; then
  fail "traffic left from the default source: $(sort -u "$T/sniff" | tr '\n' ';')"
fi
ok "slirp4netns: the world saw 198.51.100.2 / 2001:db8::2 for TCP, UDP, ping and DNS (out0 -> 2001:db8::2)"

# The gateway still reaches the host's loopback; as with slirp4netns (which
# binds every socket), the connection comes from the outbound address.
# (netd_slirp4netns ran without --disable-host-loopback.)
[[ "$(who tcp 10.0.2.2 8081)" == 198.51.100.2 ]] || fail "host loopback via the gateway: $(who tcp 10.0.2.2 8081)"
ok "the gateway still reaches 127.0.0.1 (from 198.51.100.2, as slirp4netns does)"
kill "$NETD_PID"
wait_exit "$NETD_PID" 5 || fail "netd slirp4netns did not stop"

# attach: IPv4 by interface name this time, IPv6 by address.
container_up
netd_attach --configure --dns-upstream 198.51.100.10 --outbound-addr out0 --outbound-addr6 2001:db8::2
wait_slaac >/dev/null
[[ "$(who tcp 198.51.100.10 7001)" == 198.51.100.2 ]] || fail "attach: TCP source $(who tcp 198.51.100.10 7001)"
[[ "$(who tcp 2001:db8::10 7003)" == 2001:db8::2 ]] || fail "attach: TCP/IPv6 source $(who tcp 2001:db8::10 7003)"
ok "attach --outbound-addr out0 --outbound-addr6 2001:db8::2: the world saw both"

# Without the options the kernel's choice applies: the world link's addresses.
kill "$NETD_PID"
wait_exit "$NETD_PID" 5 || fail "netd attach did not stop"
container_up
netd_attach --configure --dns-upstream 198.51.100.10
wait_slaac >/dev/null
[[ "$(who tcp 198.51.100.10 7001)" == 198.51.100.1 ]] || fail "default source: $(who tcp 198.51.100.10 7001)"
[[ "$(who tcp 2001:db8::10 7003)" == 2001:db8::1 ]] || fail "default IPv6 source: $(who tcp 2001:db8::10 7003)"
ok "without the options: 198.51.100.1 and 2001:db8::1 (so the checks above tell the difference)"
pass
