#!/usr/bin/env bash
# The embedded DNS server of bridge networks (issue 7, native registration):
# containers resolve each other's names and aliases (any case, with or
# without .dns.podman) and PTR at their gateway, within a network and not
# across; a container on two networks sees both; other names are forwarded —
# to the network's --dns server, else through the outward engine to the
# host's resolvers (here: the world's DNS server) — over UDP and TCP; a dead
# upstream is answered SERVFAIL within 2 s; internal networks forward nothing;
# --disable-dns serves nothing; names come with connect and go with
# disconnect, and the reloads that this causes lose no query of a flood.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bridge_lib.sh"
need_tools dig nft

world_up
world_server dns 53  # *.test -> 192.0.2.55, everything else NXDOMAIN
# A silent upstream: takes queries, never answers.
in_world ip addr add 198.51.100.11/24 dev veth-w
in_world "$PY" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.51.100.11", 53)); s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try: s.recv(4096)
    except socket.timeout: pass' &
PIDS+=("$!")

"$NETD" network create a >/dev/null                              # 10.89.0.0/24, host resolvers
"$NETD" network create --dns 198.51.100.10 b >/dev/null          # 10.89.1.0/24, its own server
"$NETD" network create --dns 198.51.100.11 dead >/dev/null       # 10.89.2.0/24
"$NETD" network create --internal sealed >/dev/null              # 10.89.3.0/24
"$NETD" network create --disable-dns quiet >/dev/null            # 10.89.4.0/24
mkctr; A1=$CTR; mkctr; A2=$CTR; mkctr; B1=$CTR; mkctr; D1=$CTR; mkctr; S1=$CTR; mkctr; S2=$CTR; mkctr; Q1=$CTR
IPA1=$("$NETD" network connect a --netns "$A1" --name Web --alias www --alias Portal) || fail "connect A1"
IPA2=$("$NETD" network connect a --netns "$A2" --name api) || fail "connect A2"
IPB1=$("$NETD" network connect b --netns "$B1" --name db) || fail "connect B1"
IPA2B=$("$NETD" network connect b --netns "$A2" --name api --interface eth1) || fail "connect A2 to b"
"$NETD" network connect dead --netns "$D1" --name lonely >/dev/null || fail "connect D1"
IPS1=$("$NETD" network connect sealed --netns "$S1" --name vault) || fail "connect S1"
"$NETD" network connect sealed --netns "$S2" --name guard >/dev/null || fail "connect S2"
"$NETD" network connect quiet --netns "$Q1" --name hush >/dev/null || fail "connect Q1"

# q CTR GATEWAY DIG-ARGS...: the answers, sorted, on one line.
q() {
  local c=$1 gw=$2
  shift 2
  in_c "$c" dig +short +time=2 +tries=1 @"$gw" "$@" | sort | tr '\n' ' ' | sed 's/ $//'
}
# rcode CTR GATEWAY DIG-ARGS...: the response code (empty: no answer).
rcode() {
  local c=$1 gw=$2
  shift 2
  in_c "$c" dig +time=2 +tries=1 @"$gw" "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}
expect() {  # WHAT WANT GOT
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
  ok "$1: $3"
}

expect "name on the same network" "$IPA1" "$(q "$A2" 10.89.0.1 web)"
expect "alias, any case, with the search domain" "$IPA1" "$(q "$A2" 10.89.0.1 PORTAL.Dns.Podman.)"
expect "alias" "$IPA1" "$(q "$A2" 10.89.0.1 www)"
expect "PTR: name and aliases" "portal.dns.podman. web.dns.podman. www.dns.podman." "$(q "$A2" 10.89.0.1 -x "$IPA1")"
expect "AAAA of a container without IPv6: empty NOERROR" "NOERROR" "$(rcode "$A2" 10.89.0.1 web AAAA)"
expect "TCP query" "$IPA1" "$(q "$A2" 10.89.0.1 +tcp web)"
expect "name of the other network, from a" "NXDOMAIN" "$(rcode "$A1" 10.89.0.1 db.dns.podman)"
expect "name of the other network, from b" "NXDOMAIN" "$(rcode "$B1" 10.89.1.1 web.dns.podman)"
expect "PTR across networks" "" "$(q "$B1" 10.89.1.1 -x "$IPA1")"
expect "a container on both networks sees a's names" "$IPA1" "$(q "$A2" 10.89.1.1 web)"
expect "... and b's names" "$IPB1" "$(q "$A2" 10.89.0.1 db)"
expect "b's containers see its address on b only" "$IPA2B" "$(q "$B1" 10.89.1.1 api)"

expect "forwarded through the outward engine to the host's resolver" "192.0.2.55" "$(q "$A1" 10.89.0.1 host.test)"
expect "forwarded over TCP" "192.0.2.55" "$(q "$A1" 10.89.0.1 +tcp tcp.test)"
expect "forwarded to the network's own server" "192.0.2.55" "$(q "$B1" 10.89.1.1 other.test)"
expect "upstream NXDOMAIN relayed" "NXDOMAIN" "$(rcode "$B1" 10.89.1.1 nothing.example)"
t0=$(date +%s%N)
st=$(rcode "$D1" 10.89.2.1 +time=5 slow.test)
ms=$((($(date +%s%N) - t0) / 1000000))
expect "dead upstream" "SERVFAIL" "$st"
((ms < 2000)) || fail "the dead upstream took $ms ms"
ok "dead upstream answered in $ms ms"
expect "internal network: names" "$IPS1" "$(q "$S2" 10.89.3.1 vault)"
expect "internal network: nothing forwarded" "NXDOMAIN" "$(rcode "$S2" 10.89.3.1 host.test)"
expect "--disable-dns: nothing listens" "" "$(rcode "$Q1" 10.89.4.1 hush)"
nft_table >"$T/nft"
if grep -q "netd:quiet:dns" "$T/nft"; then fail "--disable-dns network has DNS rules"; fi

log "names come and go with connect and disconnect, while a flood runs"
cat >"$T/flood.py" <<'PY'
import socket, struct, sys, time
n, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0)
q = lambda i: struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + b'\x03web\x00\x00\x01\x00\x01'
lost = 0
for i in range(n):
    s.sendto(q(i), ('10.89.0.1', 53))
    try:
        while struct.unpack('>H', s.recv(512)[:2])[0] != i: pass
    except socket.timeout:
        lost += 1
    time.sleep(0.002)
open(out, 'w').write(str(lost))
PY
in_c "$A2" "$PY" "$T/flood.py" 1200 "$T/lost" &
FLOOD=$!
PIDS+=("$FLOOD")
mkctr; N1=$CTR; mkctr; N2=$CTR
for round in 1 2; do
  IPN1=$("$NETD" network connect a --netns "$N1" --name newbie) || fail "connect newbie"
  expect "a new name resolves as soon as connect returns (round $round)" "$IPN1" "$(q "$A2" 10.89.0.1 newbie)"
  "$NETD" network connect b --netns "$N2" --name other$round >/dev/null || fail "connect other$round"
  "$NETD" network disconnect a --name newbie || fail "disconnect newbie"
  expect "a name is gone as soon as disconnect returns (round $round)" "NXDOMAIN" "$(rcode "$A2" 10.89.0.1 newbie.dns.podman)"
  "$NETD" network disconnect b --name other$round || fail "disconnect other$round"
done
wait "$FLOOD" || fail "the flood client failed"
expect "queries lost during the reloads" "0" "$(cat "$T/lost")"

log "the server lives in the rootless netns and goes with the last DNS network"
DNS_PID=$(cat "$NETD_RUNTIME_DIR/dns.pid")
rn ss -Hlnu >"$T/ss"
grep -q "10.89.0.1:53 " "$T/ss" || fail "nothing listens on 10.89.0.1:53 in the rootless netns: $(cat "$T/ss")"
for n in a b dead sealed; do "$NETD" network rm "$n" >/dev/null || fail "rm $n"; done
gone "$DNS_PID" || fail "the DNS server (pid $DNS_PID) outlived the last network with DNS"
[[ -e "$NETD_RUNTIME_DIR/dns.json" ]] && fail "the DNS record is left"
ok "DNS server $DNS_PID stopped with the last DNS-enabled network"
pass
