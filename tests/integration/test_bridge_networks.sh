#!/usr/bin/env bash
# `netd network` (issue 6): bridge networks in the per-user rootless netns.
# Two networks and an internal one; containers reach each other by IP on the
# same network only; the internal network has no route and no way out; a
# container reaches a world host through the rootless netns' outward engine
# (masqueraded); 20 concurrent connects get 20 distinct addresses; rm removes
# bridges, veths, nft rules (checked with the real nft binary) and state, and
# the last rm the rootless netns with its helpers; --ipv6 networks give
# IPv6 addresses, names and isolation. Runs as root and as an
# unprivileged user; traffic only between namespaces made here.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bridge_lib.sh"
need_tools nft

world_up
world_server tcp-server 7000

log "create networks"
"$NETD" network create front >/dev/null || fail "create front"
"$NETD" network create back >/dev/null || fail "create back"
"$NETD" network create --internal --subnet 10.89.200.0/24 sealed >/dev/null || fail "create sealed"
if "$NETD" network create front >/dev/null 2>&1; then fail "duplicate create succeeded"; fi
if "$NETD" network create 'bad/name' >/dev/null 2>&1; then fail "bad name accepted"; fi
[[ "$("$NETD" network ls -q | tr '\n' ' ')" == "back front sealed " ]] || fail "ls: $("$NETD" network ls -q)"
"$NETD" network inspect front | grep -c '"subnet": "10.89.0.0/24"' >/dev/null || fail "front is not 10.89.0.0/24"
"$NETD" network inspect back | grep -c '"subnet": "10.89.1.0/24"' >/dev/null || fail "back is not 10.89.1.0/24"
[[ -f "$NETD_CONFIG_DIR/front.json" ]] || fail "no front.json in $NETD_CONFIG_DIR"
ok "create, ls, inspect"

log "connect containers"
mkctr; C1=$CTR; mkctr; C2=$CTR; mkctr; C3=$CTR; mkctr; C4=$CTR
IP1=$("$NETD" network connect front --netns "$C1" --name c1) || fail "connect c1"
IP2=$("$NETD" network connect front --netns "/proc/$C2/ns/net" --name c2 --alias web) || fail "connect c2"
IP3=$("$NETD" network connect back --netns "$C3" --name c3 --ip 10.89.1.50) || fail "connect c3"
IP4=$("$NETD" network connect sealed --netns "$C4" --name c4 --interface net0) || fail "connect c4"
[[ "$IP1 $IP2 $IP3 $IP4" == "10.89.0.2 10.89.0.3 10.89.1.50 10.89.200.2" ]] || fail "addresses: $IP1 $IP2 $IP3 $IP4"
if "$NETD" network connect front --netns "$C1" --name c1 >/dev/null 2>&1; then fail "duplicate connect succeeded"; fi
in_c "$C1" ip -4 addr show eth0 | grep -c "inet $IP1/24" >/dev/null || fail "c1 eth0 has no $IP1"
in_c "$C1" ip route | grep -c "default via 10.89.0.1" >/dev/null || fail "c1 has no default route"
in_c "$C4" ip -4 addr show net0 | grep -c "inet $IP4/24" >/dev/null || fail "c4 has no net0 with $IP4"
grep -q '"container": "c2"' "$NETD_RUNTIME_DIR/networks/front.json" || fail "c2 not recorded"
ok "connect: addresses, interfaces, routes"

log "same network reaches, other networks do not"
ping_ok "$C1" "$IP2" || fail "c1 cannot ping c2 ($IP2) on the same network"
ping_ok "$C2" "$IP1" || fail "c2 cannot ping c1 ($IP1)"
ping_ok "$C1" 10.89.0.1 || fail "c1 cannot ping its gateway"
if ping_ok "$C1" "$IP3"; then fail "c1 (front) reached c3 (back): isolation broken"; fi
if ping_ok "$C3" "$IP1"; then fail "c3 (back) reached c1 (front): isolation broken"; fi
in_c "$C2" "$PY" "$SERVERS" tcp-server 0.0.0.0 8080 &
PIDS+=("$!")
wait_listening 8080 in_c "$C2"
out=$(in_c "$C1" "$PY" "$SERVERS" tcp-client "$IP2" 8080 who) || fail "TCP c1 -> c2: $out"
[[ "$out" == "$IP1 "* ]] || fail "c2 saw '$out', not c1's address $IP1"
if in_c "$C3" timeout 5 "$PY" "$SERVERS" tcp-client "$IP2" 8080 who >/dev/null 2>&1; then
  fail "TCP c3 (back) -> c2 (front) got through"
fi
ok "same-network ping and TCP work (c2 sees c1's own address); cross-network ping and TCP are blocked"

log "outward: a container reaches a world host through the rootless netns"
out=$(in_c "$C1" "$PY" "$SERVERS" tcp-client 198.51.100.10 7000 who) || fail "c1 -> world TCP: $out"
[[ "$out" == 198.51.100.1\ * ]] || fail "the world host saw '$out', expected the host's address 198.51.100.1"
ping_ok "$C3" 198.51.100.10 || fail "c3 cannot ping the world host"
ok "c1 -> world TCP (the world sees the host: $out) and c3 -> world ping"

log "internal network has no way out"
if in_c "$C4" ip route | grep default; then fail "internal c4 has a default route"; fi
if ping_ok "$C4" "$IP1"; then fail "internal c4 reached c1"; fi
if ping_ok "$C1" "$IP4"; then fail "c1 reached internal c4"; fi
# Even with a route added by hand, nothing leaves the internal bridge.
in_c "$C4" ip route add default via 10.89.200.1
if ping_ok "$C4" 198.51.100.10; then fail "internal c4 reached the world with a hand-made route"; fi
if ping_ok "$C4" 10.0.2.100; then fail "internal c4 reached the rootless netns' own address"; fi
ping_ok "$C4" 10.89.200.1 || fail "internal c4 cannot ping its gateway (the one local address it may reach)"
ok "internal: no default route; no other network, no world, no local address but the gateway even with a route"

log "firewall as nft sees it"
nft_table >"$T/nft" || fail "nft list table inet netd failed in the rootless netns"
for want in 'iifname "netdbr0" oifname { "netdbr1", "netdbr2" } drop' \
  'iifname "netdbr2" oifname != "netdbr2" drop' \
  'ip saddr 10.89.0.0/24 ip daddr != 10.89.0.0/24 ip daddr != 224.0.0.0/4 masquerade' \
  'iifname "netdbr0" ip daddr 10.89.0.1 udp dport 53 accept'; do
  grep -qF "$want" "$T/nft" || fail "nft: missing '$want' in: $(cat "$T/nft")"
done
if grep -q "10.89.200.0/24 .*masquerade" "$T/nft"; then fail "internal network is masqueraded"; fi
ok "table inet netd holds isolation, internal drops, masquerade and DNS accept rules"

log "disconnect"
bridge_mac() { rn ip -br link show netdbr0 | awk '{print $3}'; }
MAC=$(bridge_mac)
HV2=$(host_veth front c2)
"$NETD" network disconnect front --name c2 || fail "disconnect c2"
if in_c "$C2" ip link show eth0 >/dev/null 2>&1; then fail "c2 still has eth0"; fi
if rn ip link show "$HV2" >/dev/null 2>&1; then fail "host veth $HV2 still exists"; fi
if grep -q '"c2"' "$NETD_RUNTIME_DIR/networks/front.json"; then fail "c2 still recorded"; fi
if "$NETD" network disconnect front --name c2 >/dev/null 2>&1; then fail "second disconnect succeeded"; fi
[[ "$(bridge_mac)" == "$MAC" ]] || fail "the bridge's MAC changed from $MAC to $(bridge_mac) (containers' ARP entries go stale)"
ok "disconnect removes the veth pair and the record; the gateway's MAC stays $MAC"

log "20 concurrent connects"
"$NETD" network create many >/dev/null || fail "create many"
MANY=()
for i in $(seq 1 20); do mkctr; MANY+=("$CTR"); done
CPIDS=()
for i in $(seq 0 19); do
  "$NETD" network connect many --netns "${MANY[$i]}" --name "m$i" >"$T/ip.$i" 2>"$T/err.$i" &
  CPIDS+=($!)
done
for p in "${CPIDS[@]}"; do wait "$p" || fail "a concurrent connect failed: $(cat "$T"/err.* | sort -u | head -3)"; done
n=$(cat "$T"/ip.* | sort -u | wc -l)
[[ "$n" == 20 ]] || fail "20 connects gave $n distinct addresses: $(cat "$T"/ip.* | sort | tr '\n' ' ')"
for i in 0 7 19; do
  got=$(in_c "${MANY[$i]}" ip -4 -o addr show eth0 | awk '{print $4}')
  [[ "$got" == "$(cat "$T/ip.$i")/24" ]] || fail "m$i has $got, connect said $(cat "$T/ip.$i")"
done
ping_ok "${MANY[0]}" "$(cat "$T/ip.19")" || fail "m0 cannot reach m19"
ok "20 concurrent connects: 20 distinct addresses, each on its container"

log "rm removes bridges, veths, rules and state"
HOLDER=$(rootless_pid pid)
ATTACH=$(rootless_pid attach_pid)
BR_MANY=$("$NETD" network inspect many | sed -n 's/.*"network_interface": "\(.*\)".*/\1/p')
"$NETD" network rm many >/dev/null || fail "rm many"
rn ip -br link >"$T/links" || fail "rootless-netns ip link failed"
if grep -q "^$BR_MANY " "$T/links"; then fail "bridge $BR_MANY of 'many' still exists"; fi
[[ "$(grep -c '^veth' "$T/links")" == 3 ]] || fail "expected 3 veths (c1, c3, c4) left: $(cat "$T/links")"
[[ -e "$NETD_RUNTIME_DIR/networks/many.json" ]] && fail "state of 'many' left behind"
[[ -e "$NETD_CONFIG_DIR/many.json" ]] && fail "config of 'many' left behind"
nft_table >"$T/nft" || fail "nft list failed after rm many"
if grep -q "netd:many:" "$T/nft"; then fail "nft rules of 'many' left behind"; fi
grep -q "netd:front:" "$T/nft" || fail "nft rules of 'front' went with 'many'"
for n in front back sealed; do "$NETD" network rm "$n" >/dev/null || fail "rm $n"; done
if in_c "$C1" ip link show eth0 >/dev/null 2>&1; then fail "c1 still has eth0 after rm front"; fi
[[ -e "$NETD_RUNTIME_DIR/rootless-netns.json" ]] && fail "rootless netns record left after the last rm"
gone "$HOLDER" || fail "rootless netns holder $HOLDER still running"
gone "$ATTACH" || fail "outward engine $ATTACH still running"
[[ -z "$("$NETD" network ls -q)" ]] || fail "networks left"
if "$NETD" network rm front >/dev/null 2>&1; then fail "rm of a missing network succeeded"; fi
if "$NETD" rootless-netns true 2>/dev/null; then fail "rootless-netns still enters a namespace"; fi
ok "rm: bridge, veths, nft rules, state and config gone; the last rm stops the rootless netns and its engine"

log "--ipv6: dual-stack addresses, names and isolation"
"$NETD" network create --ipv6 six >/dev/null || fail "create --ipv6 six"
"$NETD" network create --ipv6 seven >/dev/null || fail "create --ipv6 seven"
"$NETD" network inspect six | grep -c '"ipv6_enabled": true' >/dev/null || fail "six is not ipv6_enabled"
mkctr; S1=$CTR; mkctr; S2=$CTR; mkctr; S3=$CTR
"$NETD" network connect six --netns "$S1" --name v1 >"$T/v1" || fail "connect v1"
"$NETD" network connect six --netns "$S2" --name v2 >"$T/v2" || fail "connect v2"
"$NETD" network connect seven --netns "$S3" --name v3 >"$T/v3" || fail "connect v3"
[[ "$(sed -n 2p "$T/v1") $(sed -n 2p "$T/v2") $(sed -n 2p "$T/v3")" == "fd89::2 fd89::3 fd89:0:0:1::2" ]] ||
  fail "IPv6 addresses: $(cat "$T/v1" "$T/v2" "$T/v3" | tr '\n' ' ')"
in_c "$S1" ip -6 addr show eth0 | grep -c "inet6 fd89::2/64" >/dev/null || fail "v1 has no fd89::2"
in_c "$S1" ip -6 route | grep -c "default via fd89::1" >/dev/null || fail "v1 has no IPv6 default route"
ping_ok "$S1" fd89::3 || fail "v1 cannot ping6 v2 on the same network"
ping_ok "$S1" fd89::1 || fail "v1 cannot ping6 its gateway"
if ping_ok "$S1" fd89:0:0:1::2; then fail "v1 (six) reached v3 (seven) over IPv6"; fi
if ping_ok "$S3" fd89::2; then fail "v3 (seven) reached v1 (six) over IPv6"; fi
got=$(in_c "$S1" dig +short +time=2 +tries=1 @10.89.0.1 v2 AAAA)
[[ "$got" == fd89::3 ]] || fail "AAAA of v2: '$got'"
got=$(in_c "$S1" dig +short +time=2 +tries=1 @fd89::1 v2)
[[ "$got" == 10.89.0.3 ]] || fail "A of v2 asked at the IPv6 gateway: '$got'"
got=$(in_c "$S1" dig +short +time=2 +tries=1 @fd89::1 -x fd89::3)
[[ "$got" == v2.dns.podman. ]] || fail "PTR of fd89::3: '$got'"
nft_table >"$T/nft"
grep -qF 'ip6 daddr fd89::1 udp dport 53 accept' "$T/nft" || fail "no IPv6 DNS rule: $(cat "$T/nft")"
ok "--ipv6: fd89::/64 per network, addresses and default routes, ping6 within, not across; AAAA/PTR, DNS on the IPv6 gateway"
for n in six seven; do "$NETD" network rm "$n" >/dev/null || fail "rm $n"; done
pass
