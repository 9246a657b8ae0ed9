#!/usr/bin/env bash
# Adversarial: a container on `netd attach --disable-host-loopback` (and on
# `netd slirp4netns --disable-host-loopback`, the same engine behind
# slirp4netns' command line) tries every way to the host's loopback it can
# think of. The host's resolver sits on the loopback, as systemd-resolved's
# 127.0.0.53 does: DNS through the DNS address reaches it (the one granted
# path, docs/security.md), nothing else may.
#
# Watched on the host: a tripwire on port 8099 of 127.0.0.1, 127.1.2.3 and
# ::1, lo-watch (every connection attempt arriving on lo, any port), the
# resolver's own log (what DNS messages reached it), netd's counters.
# Attempts: ordinary TCP, UDP and ICMP/ICMPv6 echo sockets to the gateway,
# DNS and router addresses, unused subnet addresses, link-local (fe80::1,
# fe80::2 with the tap's zone, 169.254.x), the host's own addresses, NAT64
# and IPv4-compatible forms of 127.0.0.1; hand-made frames (TCP SYN, UDP,
# ICMP and ICMPv6 echo) to 127.0.0.1, 127.0.0.53, 127.1.2.3, 0.0.0.0, the
# broadcasts, ::1, ::, ::ffff:127.0.0.1, ::127.0.0.1; a SYN and a datagram
# to every port of the gateway and DNS addresses (IPv4 and IPv6); DNS over
# UDP and TCP to every address; junk to the DNS port over UDP and TCP; an
# abstract UNIX socket of the host's network namespace. (Addresses outside
# the test's namespaces, such as 169.254.169.254 or 64:ff9b::7f00:1, go
# nowhere: the host namespace here has no route to them and no way out.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adversary_lib.sh"
need_tools dig

world_up
world_ipv6_up
adv_watch_host
export DNS_LOG="$T/resolver"
host_server dns 53 127.0.0.53
unset DNS_LOG
: >"$T/resolver"
container_up
netd_attach --disable-host-loopback --dns-upstream 127.0.0.53 --api-socket "$T/api.sock"
dhcp_lease
wait_slaac >/dev/null
in_ctr ping -c 1 -W 2 10.0.2.2 >/dev/null || fail "the gateway must answer ping"
gwmac=$(in_ctr ip neigh show 10.0.2.2 | awk '{print $5}')
[[ -n "$gwmac" ]] || fail "no gateway MAC"

# The one path the guest has to the host's loopback: DNS to the DNS
# address, UDP and TCP alike, both families.
adv_mark
for server in 10.0.2.3 fd00::3; do
  adv_dns_expect in_ctr "$server" 192.0.2.55
  adv_dns_expect in_ctr "$server" 192.0.2.55 +tcp
done
[[ $(grep -c "^udp query adv-[0-9]*.test$" "$T/resolver") == 2 && $(grep -c "^tcp query adv-[0-9]*.test$" "$T/resolver") == 2 &&
  $(wc -l <"$T/resolver") == 4 ]] || fail "the resolver should have seen 2 UDP and 2 TCP queries: $(cat "$T/resolver")"
adv_expect_quiet "DNS to the DNS address" "$ADV_RESOLVER_OK"
ok "DNS over UDP and TCP to 10.0.2.3 and fd00::3 reaches the resolver on 127.0.0.53 (and nothing else arrives)"

# DNS to every other address: nobody answers, nothing arrives.
adv_mark
adv_dns_silent in_ctr 10.0.2.2 10.0.2.1 10.0.2.77 fd00::2 fd00::77 198.51.100.1 2001:db8::1
adv_expect_quiet "DNS to the gateway, unused and host addresses"
ok "DNS (UDP and TCP) to the gateway, unused subnet and the host's own addresses: no answer, nothing on loopback"

# Junk to the DNS port: never relayed (UDP: dropped as malformed; TCP: reset
# before any of it goes on), counted.
malformed0=$(netd_counter drop_malformed)
adv_mark
: >"$T/resolver"
in_ctr "$PY" -c 'import socket
for dst in ("10.0.2.3", "fd00::3"):
    u = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
    for m in (b"", b"x", b"GET / HTTP/1.0\r\n\r\n", bytes(11), bytes(300), b"\x12\x34\x81\x80" + bytes(30)):
        u.sendto(m, (dst, 53))
    t = socket.create_connection((dst, 53), timeout=3)
    t.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    try:
        got = t.recv(100)
        assert got == b"", got
    except ConnectionResetError:
        pass'
sleep 0.5
[[ ! -s "$T/resolver" ]] || fail "junk reached the resolver: $(cat "$T/resolver")"
malformed1=$(netd_counter drop_malformed)
((malformed1 - malformed0 >= 12)) || fail "drop_malformed went from $malformed0 to $malformed1 (12 UDP datagrams and 2 TCP streams of junk)"
adv_expect_quiet "junk to the DNS port" "$ADV_RESOLVER_OK"
ok "junk to port 53 of the DNS address (UDP, TCP): nothing reached the resolver; drop_malformed +$((malformed1 - malformed0))"

# Ordinary sockets: TCP, UDP and ICMP echo to every address of the guest's
# world. Only netd's own addresses and the host's own addresses answer ping.
policy0=$(netd_counter drop_policy)
adv_mark
adv_attack in_ctr 10.0.2.2 10.0.2.3 10.0.2.1 10.0.2.77 169.254.169.254 169.254.0.1 198.51.100.1 \
  fd00::2 fd00::3 fd00::77 fe80::2%tap0 fe80::1%tap0 ::ffff:10.0.2.2 2001:db8::1 64:ff9b::7f00:1 ::127.0.0.1
adv_expect_refused "^(10\.0\.2\.[23]|fd00::[23]|fe80::2%tap0|::ffff:10\.0\.2\.2|198\.51\.100\.1|2001:db8::1) icmp reply$"
for a in 10.0.2.2 10.0.2.3 fd00::2 fd00::3 fe80::2%tap0; do adv_expect_result "$a tcp refused"; done
adv_expect_result "198.51.100.1 tcp refused"  # the host's own address, where nothing listens on 8099
adv_expect_result "198.51.100.1 icmp reply"
adv_expect_quiet "sockets from the guest"
policy1=$(netd_counter drop_policy)
# (TCP and UDP to 10.0.2.2, 10.0.2.3, fd00::2, fd00::3, fe80::2 and ::ffff:10.0.2.2)
((policy1 - policy0 >= 12)) || fail "drop_policy went from $policy0 to $policy1"
ok "ordinary TCP/UDP/ICMP sockets to gateway, DNS, router, unused, link-local, NAT64 and IPv4-compatible" \
  "addresses: refused; drop_policy +$((policy1 - policy0))"

# Hand-made frames with destinations no guest socket would send.
adv_mark
own_echo="^icmp echo reply from (10\.0\.2\.[23]|fd00::[23])$"
adv_probe in_ctr tap0 "$gwmac" "$TRIP" "^tcp reply from .* flags 0x14$|$own_echo" \
  127.0.0.1 127.0.0.53 127.1.2.3 127.255.255.254 0.0.0.0 255.255.255.255 10.0.2.255 10.0.2.2 10.0.2.3 \
  ::1 :: ::ffff:127.0.0.1 ::127.0.0.1 ::ffff:10.0.2.2 fd00::2 fd00::3
adv_probe in_ctr tap0 "$gwmac" 53 "^tcp reply from .* flags 0x14$|$own_echo" \
  127.0.0.1 127.0.0.53 ::1 ::ffff:127.0.0.53
adv_expect_quiet "hand-made frames"
ok "hand-made TCP SYN, UDP, ICMP and ICMPv6 echo to 127/8, ::1, ::, v4-mapped, IPv4-compatible and broadcast:" \
  "only resets and netd's own echo replies"

# Every port of the gateway and DNS addresses.
policy0=$(netd_counter drop_policy)
frames0=$(netd_counter frames_in)
adv_mark
for a in 10.0.2.2 fd00::2; do
  adv_scan in_ctr tap0 "$gwmac" tcp "$a"
  adv_scan in_ctr tap0 "$gwmac" udp "$a"
done
for a in 10.0.2.3 fd00::3; do
  adv_scan in_ctr tap0 "$gwmac" tcp "$a"
  adv_scan in_ctr tap0 "$gwmac" udp "$a"
done
adv_expect_quiet "every port of the gateway and DNS addresses" "$ADV_RESOLVER_OK"
policy1=$(netd_counter drop_policy)
frames1=$(netd_counter frames_in)
# Each SYN and datagram netd got is refused and counted: all frames but the
# four to the DNS addresses' port 53 (TCP is DNS, the UDP "tripwire"
# datagram is junk), the guest's resets of those DNS connections and a few
# neighbour messages. (The guest's kernel may drop a few scan frames when the
# tap's queue is full: netd never sees those.)
seen=$((frames1 - frames0)) refused=$((policy1 - policy0))
((seen >= 8 * 65535 * 95 / 100)) || fail "netd saw $seen of the scans' $((8 * 65535)) frames"
((seen - refused <= 20)) || fail "netd saw $seen frames but refused only $refused"
ok "a SYN and a datagram to each of the 65535 ports of 10.0.2.2, fd00::2, 10.0.2.3 and fd00::3: netd saw $seen frames," \
  "drop_policy +$refused; nothing on the host's loopback but the DNS connection"

adv_unix_isolated in_ctr
adv_no_abstract_sockets "$NETD_PID" 1  # (the API socket, a path)
ok "an abstract UNIX socket of the host's network namespace is out of the container's reach; netd holds" \
  "$ADV_UNIX_SOCKETS UNIX socket(s), none with an abstract name"
kill -TERM "$NETD_PID"
wait_exit "$NETD_PID" 5 || fail "netd attach did not stop"

# The same engine behind slirp4netns' command line.
kill "$CTR"
container_up
netd_slirp4netns --configure --disable-host-loopback --enable-ipv6 --enable-sandbox --enable-seccomp "$CTR" tap0
wait_slaac >/dev/null
adv_mark
adv_attack in_ctr 10.0.2.2 fd00::2 10.0.2.3
adv_expect_refused "^(10\.0\.2\.[23]|fd00::2) icmp reply$"
adv_expect_result "10.0.2.2 tcp refused"
adv_expect_quiet "netd slirp4netns --disable-host-loopback"
ok "netd slirp4netns --disable-host-loopback: TCP, UDP and ICMP to the gateway addresses reach nothing"
grep -q "seccomp: blocked" "$NETD_LOG" && fail "a system call was blocked"
pass
