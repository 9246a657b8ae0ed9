#!/usr/bin/env bash
# Following the host's network while traffic flows (netd attach, netd
# slirp4netns and, for resolv.conf, netd pasta; all run
# netd/attach_runner.cpp):
# - resolv.conf: netd reads its upstreams from a resolv.conf of the test's
#   own (--resolv-conf, or $NETD_RESOLV_CONF) naming DNS server A
#   (127.0.0.11); while the container queries in a loop, the file is replaced
#   by rename with one naming server B (127.0.0.12). Every query is answered
#   (none lost across the switch), the ones after the switch by B only, the
#   ones before by A only, and DNS over TCP follows too. An explicit
#   --dns-upstream is not replaced.
# - addresses: with --outbound-addr IFNAME, a UDP loop from the container
#   (a new flow per query) sees the world peer report the interface's
#   address; a second address added leaves the choice alone, removing the
#   first moves new flows to the second (at most the one query in flight at
#   that moment is lost), and netd logs it; over IPv6 the same, the new
#   address being taken only once duplicate address detection is done.
# - routes: a destination without a route fails at once (ICMP unreachable);
#   once the test adds a route in the host namespace, the next flows work,
#   without a restart.
# The DNS servers live on the host namespace's loopback, the peers in the
# test's world namespace (198.51.100.10, and 203.0.113.10 on its loopback,
# reachable only by the route the test adds); nothing leaves them.
source "$(dirname "$0")/lib.sh"
need_tools dig

for s in a b; do
  addr=127.0.0.1$([[ $s == a ]] && echo 1 || echo 2)
  DNS_LOG="$T/dns-$s.log" "$PY" "$SERVERS" dns "$addr" 53 &
  PIDS+=("$!")
  for ((i = 0; i < 100; i++)); do ss -Hlun "src $addr:53" | grep -q . && break; sleep 0.05; done
  ss -Hlun "src $addr:53" | grep -q . || fail "DNS server $s did not start"
done

cat >"$T/dnsloop.py" <<'PY'
# Sequential A queries qN.test to DNS_ADDR, one every 20 ms; each waits up to
# 3 s for its own answer (no retry). Prints "N ok" or "N lost" per query.
import socket, struct, sys, time
count, dns_addr = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for n in range(count):
    name = f"q{n}.test"
    qid = n & 0xFFFF
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    s.sendto(q, (dns_addr, 53))
    status = "lost"
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            r = s.recv(512)
        except socket.timeout:
            break
        if len(r) >= 12 and struct.unpack("!H", r[:2])[0] == qid and (r[3] & 0x0F) == 0:
            status = "ok"
            break
    print(n, status, flush=True)
    time.sleep(0.02)
PY

# write_resolv NAME_SERVER: replace $T/resolv.conf atomically (rename).
write_resolv() {
  printf '# written by the test\nnameserver %s\n' "$1" >"$T/resolv.conf.new"
  mv "$T/resolv.conf.new" "$T/resolv.conf"
}

# switch_under_load MODE: the loop runs, resolv.conf moves from A to B.
DNS_ADDR=10.0.2.3
switch_under_load() {
  local mode=$1 total=300
  : >"$T/dns-a.log"
  : >"$T/dns-b.log"
  in_ctr_bg "$PY" "$T/dnsloop.py" "$total" "$DNS_ADDR" >"$T/loop.out"
  local loop_pid=$BG_PID
  for ((i = 0; i < 100; i++)); do (($(wc -l <"$T/loop.out") >= 60)) && break; sleep 0.1; done
  (($(wc -l <"$T/loop.out") >= 60)) || fail "$mode: the query loop is not running: $(tail -n3 "$T/loop.out")"
  write_resolv 127.0.0.12
  retry 50 grep -q "resolv.conf changed: DNS upstreams 127.0.0.11:53 -> 127.0.0.12:53" "$NETD_LOG" ||
    fail "$mode: netd did not log the change: $(tail -n5 "$NETD_LOG")"
  local switched_at
  switched_at=$(wc -l <"$T/loop.out")
  wait_exit "$loop_pid" 30 || fail "$mode: the query loop did not end"
  local answered lost
  answered=$(grep_or_none -c ' ok$' "$T/loop.out")
  lost=$(grep_or_none -c ' lost$' "$T/loop.out")
  [[ $answered == "$total" ]] || fail "$mode: $answered of $total queries answered ($lost lost): $(grep lost "$T/loop.out" | head -5)"
  # Who answered what: A a prefix of the sequence, B the rest.
  local last_a first_b
  last_a=$(grep -o 'udp query q[0-9]*' "$T/dns-a.log" | grep -o '[0-9]*$' | sort -n | tail -n1)
  first_b=$(grep -o 'udp query q[0-9]*' "$T/dns-b.log" | grep -o '[0-9]*$' | sort -n | head -n1)
  [[ -n $last_a && -n $first_b ]] || fail "$mode: A answered up to '$last_a', B from '$first_b'"
  ((last_a < first_b)) || fail "$mode: A still got q$last_a after B got q$first_b"
  ((first_b <= switched_at + 1)) || fail "$mode: B's first query q$first_b came long after the switch (q$switched_at)"
  local n_a n_b
  n_a=$(grep -c 'udp query q' "$T/dns-a.log")
  n_b=$(grep -c 'udp query q' "$T/dns-b.log")
  ((n_a + n_b == total)) || fail "$mode: the servers saw $n_a + $n_b queries for $total sent"
  ok "$mode: $total queries, none lost; A answered q0..q$last_a, B q$first_b..q$((total - 1)) (switch logged at q$switched_at)"
  # DNS over TCP to the DNS address goes to the new first upstream too.
  local ans
  ans=$(in_ctr dig +tcp +short +tries=1 +time=3 "@$DNS_ADDR" tcp.test A) || fail "$mode: dig +tcp failed"
  [[ $ans == 192.0.2.55 ]] || fail "$mode: dig +tcp answered '$ans'"
  grep -q "tcp query tcp.test" "$T/dns-b.log" || fail "$mode: DNS over TCP did not reach B"
  ok "$mode: DNS over TCP follows"
}

# netd attach --resolv-conf (sandbox and seccomp on: netd's defaults).
container_up
write_resolv 127.0.0.11
netd_attach --configure --resolv-conf "$T/resolv.conf"
grep -q "following $T/resolv.conf" "$NETD_LOG" || fail "attach: netd does not follow $T/resolv.conf"
switch_under_load attach
# A change that names no server keeps the upstreams.
printf '# empty now\n' >"$T/resolv.conf.new" && mv "$T/resolv.conf.new" "$T/resolv.conf"
retry 50 grep -q "names no usable name server" "$NETD_LOG" || fail "attach: an empty resolv.conf was not reported"
ans=$(in_ctr dig +short +tries=1 +time=3 @10.0.2.3 still.test A) || fail "attach: no answer after resolv.conf lost its servers"
[[ $ans == 192.0.2.55 ]] || fail "attach: answered '$ans' after resolv.conf lost its servers"
ok "attach: a resolv.conf without servers keeps the upstreams"
pgrep -x netd-follow >/dev/null || fail "attach: no netd-follow helper runs"
kill "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "attach: netd did not exit"
# The helper ends with netd (this test's pid namespace shows only its own).
for ((i = 0; i < 30; i++)); do pgrep -x netd-follow >/dev/null || break; sleep 0.1; done
(($(pgrep -xc netd-follow) == 0)) || fail "attach: the netd-follow helper outlived netd"
ok "attach: the follow helper ended with netd"

# netd slirp4netns: $NETD_RESOLV_CONF, sandbox and seccomp on.
write_resolv 127.0.0.11
: >"$NETD_LOG"
NETD_RESOLV_CONF="$T/resolv.conf" netd_slirp4netns -c --enable-sandbox --enable-seccomp "$CTR" tap0
switch_under_load slirp4netns
kill "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "slirp4netns: netd did not exit"

# An explicit --dns-upstream stays: no follow, queries keep going to A.
write_resolv 127.0.0.11
: >"$NETD_LOG"
: >"$T/dns-a.log"
: >"$T/dns-b.log"
netd_attach --configure --resolv-conf "$T/resolv.conf" --dns-upstream 127.0.0.11
(($(grep_or_none -c "following" "$NETD_LOG") == 0)) || fail "--dns-upstream: netd follows resolv.conf anyway"
write_resolv 127.0.0.12
sleep 0.5
ans=$(in_ctr dig +short +tries=1 +time=3 @10.0.2.3 explicit.test A) || fail "--dns-upstream: no answer"
[[ $ans == 192.0.2.55 ]] || fail "--dns-upstream: answered '$ans'"
grep -q "explicit.test" "$T/dns-a.log" || fail "--dns-upstream: the query did not go to A"
(($(grep_or_none -c "explicit.test" "$T/dns-b.log") == 0)) || fail "--dns-upstream: the query went to B"
ok "an explicit --dns-upstream is kept"
kill "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "--dns-upstream: netd did not exit"

# ---- addresses and routes ------------------------------------------------
world_up
# out0: the outbound interface (both veth ends here), with /32 addresses the
# world answers by ARP on its link (any local address, as Linux does).
ip link add out0 type veth peer name out0p
ip link set out0p up
ip link set out0 up
ip addr add 198.51.100.2/32 dev out0
world_server udp-echo 7002
world_ipv6_up
ip addr add 2001:db8::2/128 dev out0 nodad
# IPv6 neighbour discovery answers only for the link's own addresses: route.
in_world ip -6 route add 2001:db8::2/128 via 2001:db8::1
in_world ip -6 route add 2001:db8::3/128 via 2001:db8::1
world_server tcp-server 7004 2001:db8::10
in_world ip addr add 203.0.113.10/32 dev lo
world_server udp-echo 7003 203.0.113.10
cat >"$T/wholoop.py" <<'PY'
# COUNT queries "WHO" to ADDR:PORT, one new socket (so one new flow) each,
# from source ports BASE, BASE+1, ..., INTERVAL s apart; each waits up to 1 s. Prints "N SOURCE" (the address the
# peer saw), "N lost" or "N err ERRNO" (an ICMP error came back).
import socket, sys, time
addr, port, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
base = int(sys.argv[5])
for n in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR: ICMP "unreachable" ends recv at once
    # A port of its own per query: a reused one would continue an older flow
    # (netd keeps it 30 s), whose socket may be bound to the removed address.
    s.bind(("0.0.0.0", base + n))
    s.settimeout(1)
    s.connect((addr, port))
    try:
        s.send(b"WHO")
        print(n, s.recv(100).decode().split()[0], flush=True)
    except socket.timeout:
        print(n, "lost", flush=True)
    except OSError as e:
        print(n, "err", e.errno, flush=True)
    s.close()
    time.sleep(interval)
PY
# wait_lines FILE N: until FILE has N lines (bounded).
wait_lines() {
  for ((i = 0; i < 150; i++)); do (($(wc -l <"$1") >= $2)) && return 0; sleep 0.1; done
  fail "$1 has only $(wc -l <"$1") lines, not $2: $(tail -n3 "$1")"
}

: >"$NETD_LOG"
netd_attach --configure --resolv-conf "$T/resolv.conf" --outbound-addr out0 --outbound-addr6 out0
grep -q "outbound IPv4 traffic leaves from 198.51.100.2" "$NETD_LOG" || fail "outbound: not bound to out0's address"
in_ctr_bg "$PY" "$T/wholoop.py" 198.51.100.10 7002 200 0.02 40000 >"$T/who.out"
loop_pid=$BG_PID
wait_lines "$T/who.out" 30
ip addr add 198.51.100.3/32 dev out0
wait_lines "$T/who.out" 60
added_at=$(wc -l <"$T/who.out")
ip addr del 198.51.100.2/32 dev out0
retry 50 grep -q "outbound interface out0: new IPv4 address 198.51.100.3" "$NETD_LOG" ||
  fail "outbound: the new address was not taken: $(tail -n3 "$NETD_LOG")"
switched_at=$(wc -l <"$T/who.out")
wait_exit "$loop_pid" 60 || fail "outbound: the loop did not end"
[[ $(wc -l <"$T/who.out") == 200 ]] || fail "outbound: the loop answered $(wc -l <"$T/who.out") lines"
# Sources in order: .2 up to the removal (also after .3 was added), then .3.
seq=$(awk '{print $2}' "$T/who.out" | uniq | tr '\n' ' ')
lost=$(grep_or_none -c ' lost$\| err ' "$T/who.out")
((lost <= 1)) || fail "outbound: $lost queries failed: $(grep ' lost$\| err ' "$T/who.out" | head -3)"
[[ $seq == "198.51.100.2 198.51.100.3 " || $seq == "198.51.100.2 lost 198.51.100.3 " || $seq == "198.51.100.2 err 198.51.100.3 " ]] ||
  fail "outbound: sources were, in order: $seq ($(grep -n " lost$\\| err " "$T/who.out" | head -3))"
first3=$(grep -m1 ' 198.51.100.3$' "$T/who.out" | cut -d' ' -f1)
((first3 >= added_at)) || fail "outbound: .3 used at query $first3, before .2 was removed (query $added_at)"
((first3 <= switched_at + 1)) || fail "outbound: .3 first used at query $first3, long after the switch ($switched_at)"
ok "outbound: 200 flows, $lost lost; 198.51.100.2 also after .3 was added, until its removal at query $added_at; 198.51.100.3 from query $first3"

# IPv6: the new address goes through duplicate address detection first
# (tentative: not usable, not chosen), then takes over.
who6() {
  local out
  out=$(in_ctr "$PY" "$SERVERS" tcp-client 2001:db8::10 7004 who) || fail "tcp to [2001:db8::10]:7004: $out"
  echo "${out%% *}"
}
wait_slaac >/dev/null
[[ $(who6) == 2001:db8::2 ]] || fail "outbound6: source $(who6), not 2001:db8::2"
ip -6 addr add 2001:db8::3/128 dev out0
ip -6 addr del 2001:db8::2/128 dev out0
retry 50 grep -q "outbound interface out0: new IPv6 address 2001:db8::3" "$NETD_LOG" ||
  fail "outbound6: 2001:db8::3 was not taken: $(tail -n3 "$NETD_LOG")"
[[ $(who6) == 2001:db8::3 ]] || fail "outbound6: source $(who6) after the switch"
if ip -6 addr show dev out0 | grep -q tentative; then
  fail "outbound6: netd took 2001:db8::3 while it was still tentative"
fi
ok "outbound6: 2001:db8::2, then 2001:db8::3 once its duplicate address detection finished"

# A route that appears later: 203.0.113.10 has none yet (no default route here).
in_ctr_bg "$PY" "$T/wholoop.py" 203.0.113.10 7003 100 0.05 41000 >"$T/route.out"
loop_pid=$BG_PID
wait_lines "$T/route.out" 10
ip route add 203.0.113.10/32 via 198.51.100.10
added_at=$(wc -l <"$T/route.out")
wait_exit "$loop_pid" 60 || fail "route: the loop did not end"
n_err=$(head -n 10 "$T/route.out" | grep_or_none -c ' err ')
((n_err == 10)) || fail "route: before the route, $n_err of 10 flows failed at once: $(head -n3 "$T/route.out")"
after=$(tail -n +$((added_at + 2)) "$T/route.out")
n_after=$(grep_or_none -c . <<<"$after")
n_ok=$(grep_or_none -c ' 198.51.100.3$' <<<"$after")
((n_after >= 50 && n_ok == n_after)) || fail "route: after it, $n_ok of $n_after flows answered: $(grep -v ' 198.51.100.3$' <<<"$after" | head -3)"
ok "route: unreachable before the route ($n_err flows refused at once), then $n_ok of $n_after flows answered"
kill "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "outbound: netd did not exit"

# ---- netd pasta: resolv.conf followed (no --dns-host) ----------------------
# A host behind a router (host_uplink_up, whose IPv6 half is up already).
ip route add default via 198.51.100.10
ip -6 route add default via 2001:db8::10
write_resolv 127.0.0.11
: >"$NETD_LOG"
container_up
mkdir -p "$T/bin"
ln -s "$NETD_BIN" "$T/bin/pasta"
run=()
[[ "$NETD_HARNESS_OUTER_UID" != 0 ]] && run=(setpriv --bounding-set=-all --inh-caps=-all)
NETD_RESOLV_CONF="$T/resolv.conf" "${run[@]}" "$T/bin/pasta" -f --config-net --pid "$T/pasta.pid" \
  --dns-forward 169.254.1.1 -t none -u none -T none -U none --no-map-gw "$CTR" >>"$NETD_LOG" 2>&1 &
NETD_PID=$!
PIDS+=("$NETD_PID")
for ((i = 0; i < 100; i++)); do [[ -s "$T/pasta.pid" ]] && break; sleep 0.1; done
[[ -s "$T/pasta.pid" ]] || fail "pasta did not become ready: $(cat "$NETD_LOG")"
grep -q "following $T/resolv.conf" "$NETD_LOG" || fail "pasta: netd does not follow $T/resolv.conf"
DNS_ADDR=169.254.1.1
switch_under_load pasta

pass
