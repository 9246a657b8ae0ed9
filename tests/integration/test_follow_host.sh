#!/usr/bin/env bash
# Following the host's network while traffic flows (netd attach and netd
# slirp4netns; both run netd/attach_runner.cpp):
# - resolv.conf: netd reads its upstreams from a resolv.conf of the test's
#   own (--resolv-conf, or $NETD_RESOLV_CONF) naming DNS server A
#   (127.0.0.11); while the container queries in a loop, the file is replaced
#   by rename with one naming server B (127.0.0.12). Every query is answered
#   (none lost across the switch), the ones after the switch by B only, the
#   ones before by A only, and DNS over TCP follows too. An explicit
#   --dns-upstream is not replaced.
# Both servers live on the host namespace's loopback; nothing leaves it.
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
# Sequential A queries qN.test to 10.0.2.3, one every 20 ms; each waits up to
# 3 s for its own answer (no retry). Prints "N ok" or "N lost" per query.
import socket, struct, sys, time
count = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for n in range(count):
    name = f"q{n}.test"
    qid = n & 0xFFFF
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    s.sendto(q, ("10.0.2.3", 53))
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
switch_under_load() {
  local mode=$1 total=300
  : >"$T/dns-a.log"
  : >"$T/dns-b.log"
  in_ctr_bg "$PY" "$T/dnsloop.py" "$total" >"$T/loop.out"
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
  ans=$(in_ctr dig +tcp +short +tries=1 +time=3 @10.0.2.3 tcp.test A) || fail "$mode: dig +tcp failed"
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
kill "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "attach: netd did not exit"

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

pass
