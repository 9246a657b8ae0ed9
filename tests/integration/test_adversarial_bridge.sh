#!/usr/bin/env bash
# Adversarial: containers on `netd network` bridges try to reach the host's
# loopback. The rootless netns' outward engine stands for the host behind
# 10.0.2.2; the host's resolver is on its loopback (127.0.0.53, as
# systemd-resolved).
#
#  - A network created without options ("plain", dual stack): its container
#    reaches nothing on the host's loopback. The engine runs with
#    --disable-host-loopback and the firewall refuses 10.0.2.2 (counted by
#    the rule's nft counter). DNS still works, through the gateway (netd's DNS
#    server -> the engine's forwarder 10.0.2.3 -> the resolver) and at
#    10.0.2.3 itself, UDP and TCP: the one granted path (docs/security.md).
#  - A network created with -o allow_host_loopback=true ("open"): its first
#    container makes netd restart the engine with host loopback (the plain
#    container's published port comes back); TCP, UDP and ping to 10.0.2.2
#    reach the host's 127.0.0.1. The plain network stays refused, every port
#    of 10.0.2.2, although the engine now maps it.
#
# Watched on the host: the tripwire (port 8099 of 127.0.0.1, 127.1.2.3 and
# ::1), lo-watch (every attempt arriving on lo, any port), the resolver's log.
# Attempts: ordinary TCP, UDP and ICMP/ICMPv6 sockets to 10.0.2.2, 10.0.2.3,
# the rootless netns' own addresses, the gateways, link-local and 169.254.x,
# the host's own address; hand-made frames (TCP SYN, UDP, ICMP and ICMPv6
# echo) to 127.0.0.1, 127.0.0.53, 0.0.0.0, the broadcasts, ::1, ::,
# ::ffff:127.0.0.1, ::127.0.0.1; a SYN and a datagram to every port of
# 10.0.2.2; DNS over UDP and TCP; an abstract UNIX socket of the host's
# network namespace. (169.254.169.254 goes out of the engine into the host
# namespace here, which has no route there: it never leaves the test's
# namespaces.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bridge_lib.sh"
source "$(dirname "$0")/adversary_lib.sh"
need_tools dig nft

world_up
printf 'nameserver 127.0.0.53\n' >"$T/resolv.conf"  # (bind-mounted on /etc/resolv.conf by bridge_lib.sh)
adv_watch_host
export DNS_LOG="$T/resolver"
host_server dns 53 127.0.0.53
unset DNS_LOG
: >"$T/resolver"

engine_args() { tr '\0' ' ' <"/proc/$(rootless_pid attach_pid)/cmdline"; }
# nft_rejected NET: packets the NET's no-host-loopback rule refused so far.
nft_rejected() {
  nft_table | grep -F "netd:$1:no-host-loopback" | grep -o 'counter packets [0-9]*' | awk '{print $3}'
}

"$NETD" network create --ipv6 plain >/dev/null || fail "create plain"
if "$NETD" network create -o allow_host_loopback=yes bad >/dev/null 2>&1; then fail "a bad option value was accepted"; fi
if "$NETD" network create -o no_such_option=true bad >/dev/null 2>&1; then fail "an unknown option was accepted"; fi
mkctr
C1=$CTR
IP1=$("$NETD" network connect plain --netns "$C1" --name c1 -p 18080:80 | head -n1) || fail "connect c1"
GW1=10.89.0.1
GW6=$("$NETD" network inspect plain | "$PY" -c 'import json,sys; print([s["gateway"] for s in json.load(sys.stdin)["subnets"] if ":" in s["subnet"]][0])')
in_c "$C1" "$PY" "$SERVERS" tcp-server 0.0.0.0 80 &
PIDS+=("$!")
wait_listening 80 in_c "$C1"
grep -q -- "--disable-host-loopback" <<<"$(engine_args)" || fail "the engine maps host loopback: $(engine_args)"
ENGINE1=$(rootless_pid attach_pid)
ok "no network allows host loopback: the engine (pid $ENGINE1) runs with --disable-host-loopback"

# plain_is_refused WHAT: everything from c1 towards the host's loopback fails.
plain_is_refused() {
  local before after
  before=$(nft_rejected plain)
  adv_mark
  adv_attack "in_c $C1" 10.0.2.2 10.0.2.3 10.0.2.100 "$GW1" 169.254.169.254 198.51.100.1 "$GW6" fe80::1%eth0 \
    ::ffff:10.0.2.2
  adv_expect_refused "^(10\.0\.2\.(3|100)|$GW1|$GW6|198\.51\.100\.1) icmp reply$"
  adv_expect_result "10.0.2.2 tcp unreachable"
  adv_expect_result "10.0.2.2 udp unreachable"
  adv_expect_result "10.0.2.2 icmp timeout"
  adv_dns_silent "in_c $C1" 10.0.2.2
  adv_expect_quiet "$1: sockets from the plain network"
  after=$(nft_rejected plain)
  # (TCP, UDP and ICMP to 10.0.2.2 and ::ffff:10.0.2.2, and the two DNS attempts)
  ((after - before >= 5)) || fail "$1: the no-host-loopback rule counted $before -> $after"
  ok "$1: TCP, UDP, ICMP and DNS from the plain network to 10.0.2.2 are refused (nft counter +$((after - before)))," \
    "nothing reached the host's loopback"
}
plain_is_refused "engine without host loopback"

# DNS: through the gateway and at the engine's forwarder, UDP and TCP.
adv_mark
: >"$T/resolver"
adv_dns_expect "in_c $C1" "$GW1" 192.0.2.55
adv_dns_expect "in_c $C1" "$GW1" 192.0.2.55 +tcp
adv_dns_expect "in_c $C1" 10.0.2.3 192.0.2.55
adv_dns_expect "in_c $C1" 10.0.2.3 192.0.2.55 +tcp
[[ $(grep -c "^udp query adv-" "$T/resolver") -ge 3 && $(grep -c "^tcp query adv-" "$T/resolver") == 1 ]] ||
  fail "the resolver should have seen the 4 queries (3 relayed over UDP, 1 over TCP): $(cat "$T/resolver")"
adv_expect_quiet "DNS from the plain network" "$ADV_RESOLVER_OK"
ok "DNS from the plain network through its gateway and at 10.0.2.3 (UDP, TCP) reaches the resolver on 127.0.0.53"

# Hand-made frames with loopback destinations, to the bridge's MAC. The
# rootless netns' own loopback has a tripwire too: the bridge has
# route_localnet (for published ports), so only the firewall keeps
# containers from it (nft_rules.h, no-loopback).
HOLDER=$(rootless_pid pid)
: >"$T/rn-trip"
nsenter --preserve-credentials --user="/proc/$HOLDER/ns/user" --net="/proc/$HOLDER/ns/net" -- \
  "$PY" "$ADV" tripwire "$TRIP" "$T/rn-trip" &
PIDS+=("$!")
wait_listening "$TRIP" rn
bridge_mac=$(rn ip -br link show netdbr0 | awk '{print $3}')
[[ -n "$bridge_mac" ]] || fail "no bridge MAC"
adv_mark
adv_probe "in_c $C1" eth0 "$bridge_mac" "$TRIP" "^$" \
  127.0.0.1 127.0.0.53 127.1.2.3 0.0.0.0 255.255.255.255 10.89.0.255 ::1 :: ::ffff:127.0.0.1 ::127.0.0.1
adv_probe "in_c $C1" eth0 "$bridge_mac" 53 "^$" 127.0.0.1 127.0.0.53 ::1
adv_expect_quiet "hand-made frames from the plain network"
[[ ! -s "$T/rn-trip" ]] || fail "the rootless netns' loopback was reached: $(cat "$T/rn-trip")"
dropped=$(nft_table | grep -F "netd:plain:no-loopback" | grep -o 'counter packets [0-9]*' | awk '{print $3}')
((dropped >= 15)) || fail "the no-loopback rule counted $dropped packets (15 frames to 127/8 were sent)"
ok "hand-made TCP, UDP, ICMP and ICMPv6 frames to 127/8, ::1, ::, v4-mapped and IPv4-compatible loopback:" \
  "no answer, nothing reached the host or the rootless netns' loopback ($dropped dropped by no-loopback)"

adv_unix_isolated "in_c $C1"
ok "an abstract UNIX socket of the host's network namespace is out of the bridge container's reach"

# --- a network that allows host loopback --------------------------------
"$NETD" network create -o allow_host_loopback=true open >/dev/null || fail "create open"
grep -q '"allow_host_loopback": "true"' <<<"$("$NETD" network inspect open)" || fail "inspect open lacks the option"
mkctr
C2=$CTR
"$NETD" network connect open --netns "$C2" --name c2 >/dev/null || fail "connect c2"
ENGINE2=$(rootless_pid attach_pid)
[[ "$ENGINE2" != "$ENGINE1" ]] || fail "the engine was not restarted for the open network"
if grep -q -- "--disable-host-loopback" <<<"$(engine_args)"; then fail "the new engine still disables host loopback"; fi
gone "$ENGINE1" || fail "the old engine (pid $ENGINE1) still runs"
who=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18080 who) || fail "c1's published port after the engine restart: $who"
ok "open network connected: the engine was restarted with host loopback (pid $ENGINE1 -> $ENGINE2);" \
  "c1's published port works again"

adv_mark
adv_attack "in_c $C2" 10.0.2.2
adv_expect_result "10.0.2.2 tcp connected"
adv_expect_result "10.0.2.2 icmp reply"
hits=$(adv_new_hits)
for want in "tripwire tcp 127.0.0.1 from 127.0.0.1" "tripwire udp 127.0.0.1 from 127.0.0.1"; do
  grep -qxF "$want" <<<"$hits" || fail "open: 10.0.2.2 did not lead to the host's loopback ($want): $hits"
done
adv_dns_expect "in_c $C2" "10.89.1.1" 192.0.2.55
ok "open network: TCP and UDP to 10.0.2.2 reach the host's 127.0.0.1, ping is answered; DNS through the gateway works"

plain_is_refused "engine with host loopback"
before=$(nft_rejected plain)
adv_mark
adv_scan "in_c $C1" eth0 "$bridge_mac" tcp 10.0.2.2
adv_scan "in_c $C1" eth0 "$bridge_mac" udp 10.0.2.2
adv_expect_quiet "every port of 10.0.2.2 from the plain network"
after=$(nft_rejected plain)
((after - before >= 2 * 65535 * 99 / 100)) || fail "the no-host-loopback rule counted $((after - before)) of 131070"
ok "a SYN and a datagram to every port of 10.0.2.2 from the plain network: $((after - before)) refused by the" \
  "firewall, nothing reached the host's loopback (while the engine maps it)"

"$NETD" network rm open >/dev/null || fail "rm open"
"$NETD" network rm plain >/dev/null || fail "rm plain"
pass
