#!/usr/bin/env bash
# Host exposure: with --disable-host-loopback nothing from the guest reaches
# the host's loopback (127.0.0.0/8, ::1) in any protocol. A tripwire listens
# on TCP and UDP of 127.0.0.1, 127.1.2.3 and ::1 and records every hit; the
# guest tries ordinary sockets to the gateway and DNS addresses, and
# hand-made TCP SYN / UDP / ICMP echo frames (IPv4; IPv6 with ICMPv6 echo)
# to loopback, unspecified, broadcast and the gateway; only refusals (RST)
# and netd's own echo replies may come back. IPv6 sockets (the guest's SLAAC
# address) to the IPv6 gateway and DNS addresses likewise.
# DNS: queries to the DNS address are relayed as whole DNS messages to the
# configured upstream (here the tripwire itself on host loopback, which never
# answers, so the relay may retry); anything that is not a DNS query never
# reaches it. DNS over TCP reaches the same upstream (one rule for both).
# With host loopback enabled, only the gateway address leads there.
# (test_adversarial_*.sh try much more, on every engine.)
source "$(dirname "$0")/lib.sh"
need_tools dig

ADV="$HERE/adversary.py"
P=8099
"$PY" "$ADV" tripwire "$P" "$T/hits" &
PIDS+=("$!")
wait_listening "$P" env
: >"$T/hits"
container_up
netd_attach --disable-host-loopback --dns-upstream "127.0.0.1:$P"
dhcp_lease
in_ctr ping -c 1 -W 2 10.0.2.2 >/dev/null || fail "the gateway itself must answer ping"
gwmac=$(in_ctr ip neigh show 10.0.2.2 | awk '{print $5}')
[[ -n "$gwmac" ]] || fail "no gateway MAC"
# IPv6: the guest takes its address from netd's router advertisement (SLAAC).
wait_slaac >/dev/null

# check_probe ADDR...: hand-made frames; only refusals (RST, flags 0x14) and
# netd's own echo replies for the gateway and DNS addresses may answer.
check_probe() {
  local out
  out=$(in_ctr "$PY" "$ADV" probe tap0 "$gwmac" "$P" "$@") || fail "probe failed: $out"
  out=$(grep_or_none -v -e "^tcp reply from .* flags 0x14$" -e "^icmp echo reply from \(10\.0\.2\.[23]\|fd00::[23]\)$" <<<"$out")
  [[ -z "$out" ]] || fail "the guest got answers from where it must not reach: $out"
}
tripwire_quiet() {
  sleep 0.5
  [[ ! -s "$T/hits" ]] || fail "host loopback was reached: $(cat "$T/hits")"
}

for dst in 10.0.2.2 10.0.2.3 fd00::2 fd00::3; do
  rc=0
  in_ctr "$PY" "$SERVERS" tcp-client "$dst" "$P" echo leak >/dev/null 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || fail "TCP to $dst:$P was answered"
  rc=0
  in_ctr "$PY" "$SERVERS" udp-client "$dst" "$P" leak >/dev/null 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || fail "UDP to $dst:$P was answered"
done
tripwire_quiet
ok "--disable-host-loopback: TCP and UDP to the gateway and DNS addresses (IPv4 and IPv6) reach nothing"

check_probe 127.0.0.1 127.1.2.3 0.0.0.0 10.0.2.2 10.0.2.3 10.0.2.255 255.255.255.255 ::1 ::ffff:127.0.0.1 \
  fd00::2 fd00::3
tripwire_quiet
ok "hand-made TCP/UDP/ICMP echo (IPv4) and TCP/UDP/ICMPv6 echo (IPv6) frames to loopback, unspecified," \
  "broadcast, gateway and DNS addresses: only resets and netd's own echo replies, nothing reached"

# DNS: the relay's upstream is the tripwire on host loopback. Garbage to the
# DNS port is not relayed; a real query is (the tripwire sees it, maybe retried).
in_ctr "$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for m in (b"", b"x", b"GET / HTTP/1.0\r\n\r\n", bytes(11), bytes(300)): s.sendto(m, ("10.0.2.3", 53))'
tripwire_quiet
# (the tripwire never answers: netd answers SERVFAIL when its deadline passes)
out=$(in_ctr dig +time=4 +tries=1 @10.0.2.3 relayed.test A 2>&1) || fail "dig to the DNS address: $out"
grep -q "status: SERVFAIL" <<<"$out" || fail "dig to the DNS address: expected SERVFAIL: $out"
for ((i = 0; i < 30; i++)); do [[ -s "$T/hits" ]] && break; sleep 0.1; done
[[ -s "$T/hits" ]] && ! grep -qv "^udp 127.0.0.1 from 127.0.0.1" "$T/hits" ||
  fail "the DNS relay should have sent the query (and nothing else) upstream: $(cat "$T/hits")"
ok "DNS: non-DNS bytes to port 53 are not relayed; a query is ($(wc -l <"$T/hits") datagram(s) upstream)"
# DNS over TCP follows the same rule: to the upstream on the loopback too
# (the tripwire accepts and closes, so dig gets no answer).
: >"$T/hits"
rc=0
in_ctr dig +tcp +time=3 +tries=1 @10.0.2.3 relayed.test A >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "dig +tcp got an answer from the tripwire"
for ((i = 0; i < 30; i++)); do [[ -s "$T/hits" ]] && break; sleep 0.1; done
[[ "$(cat "$T/hits")" == "tcp 127.0.0.1 from 127.0.0.1" ]] ||
  fail "DNS over TCP should reach the upstream on the loopback once: $(cat "$T/hits")"
ok "DNS over TCP to the DNS address reaches the loopback upstream too (one rule for UDP and TCP)"
kill -TERM "$NETD_PID"
wait_exit "$NETD_PID" 5 || fail "netd did not stop on SIGTERM"
[[ $EXIT_RC -eq 0 ]] || fail "netd exited $EXIT_RC after SIGTERM"
: >"$T/hits"

# Host loopback enabled: the gateway leads there, nothing else does.
netd_attach --dns-upstream 198.51.100.10
dhcp_lease
check_probe 127.0.0.1 127.1.2.3 0.0.0.0 10.0.2.3 ::1
tripwire_quiet
wait_slaac >/dev/null
# (the tripwire never answers: each client times out, exit status 1)
for dst in 10.0.2.2 fd00::2; do
  rc=0
  in_ctr "$PY" "$SERVERS" udp-client "$dst" "$P" via-gateway >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 1 ]] || fail "UDP to $dst:$P: exit $rc, expected a timeout (1)"
done
for ((i = 0; i < 30; i++)); do [[ $(wc -l <"$T/hits") -ge 2 ]] && break; sleep 0.1; done
grep -q "^udp 127.0.0.1 from 127.0.0.1" "$T/hits" && grep -q "^udp ::1 from ::1" "$T/hits" ||
  fail "host loopback enabled: the gateway addresses did not lead there: $(cat "$T/hits")"
ok "host loopback enabled: only the gateway addresses reach 127.0.0.1 and ::1"
grep -q "seccomp: blocked" "$NETD_LOG" && fail "a system call was blocked"
pass
