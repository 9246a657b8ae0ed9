#!/usr/bin/env bash
# Clean port handover: a container restarted with the same published port
# gets a new netd while the old one still holds the port. Fault-style: the
# change happens while a client keeps using the port.
# - netd attach -p (TCP): the old netd (A) stops within the new one's (B)
#   bounded wait: B logs that the port is held by A's pid, takes the port
#   once A has gone, becomes ready and serves it; a client that keeps
#   connecting through the handover reaches B's container from then on.
#   A stays: B gives up after its wait (5 s) with exit 1 and an error that
#   names A's pid.
# - netd attach -p (UDP): a client sends a numbered datagram every 10 ms
#   through the handover; A's and B's containers answer with their own tag.
#   Every datagram sent once B was ready is answered by B; none is answered
#   twice; the ones sent between A's last answer and B's first are lost
#   (nothing holds the port, or A is ending): the test reports how many.
# - netd pasta -t (what Podman 5 runs): the same wait; B's parent process
#   does not exit (Podman waits for it) until B has bound the port, then
#   exits 0; A staying: B exits 1 naming A's pid. A port added through
#   pesto (-c) waits the same way, on the pesto thread, while the data
#   plane serves B's other ports.
# - add_hostfwd through the API socket (netd ctl): the add waits on the API
#   thread (the data plane keeps answering get_counters meanwhile), then
#   returns its id and the port reaches B's container; A staying: the error
#   names A's pid after the wait.
# - netd forward -p: the same wait at start-up, then B serves.
# Clients connect to the host's 127.0.0.1 only; the servers live in the
# test's container namespaces.
source "$(dirname "$0")/lib.sh"

PORT=18090
world_up
host_uplink_up  # (netd pasta copies the host's address and routes)
container_up
CTR_A=$CTR
container_up
CTR_B=$CTR
# Only B's container serves: a connection that works is B's.
in_ctr_bg "$PY" "$SERVERS" tcp-server 0.0.0.0 8080
wait_listening 8080 in_ctr

# start_netd_bg LOG ARGS...: netd ARGS... in the background (capabilities
# dropped for an unprivileged outer user, as run_netd_ready does), with fd 3
# as its ready fd; BG_NETD is its pid, BG_READY the fd to read the byte from.
start_netd_bg() {
  local log=$1
  shift
  local fifo="$T/ready-bg"
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {BG_READY}<>"$fifo"
  local run=()
  if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then
    run=(setpriv --bounding-set=-all --inh-caps=-all)
  fi
  "${run[@]}" "$NETD_BIN" "$@" 3>"$fifo" >>"$log" 2>&1 &
  BG_NETD=$!
  PIDS+=("$BG_NETD")
}

# Traffic through a handover: a connection every 50 ms (A refuses them:
# its container has no server; B's answer).
cat >"$T/client.py" <<'PY'
import socket, sys, time
for n in range(int(sys.argv[1])):
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
        c.sendall(b"ECHO\nhi")
        print(n, "ok" if c.recv(16) == b"hi" else "bad", flush=True)
        c.close()
    except OSError as e:
        print(n, "err", e.errno, flush=True)
    time.sleep(0.05)
PY
# start_client PORT: the loop above (80 connections) on PORT, into $T/client.out.
start_client() {
  "$PY" "$T/client.py" 80 "$1" >"$T/client.out" &
  CLIENT=$!
  PIDS+=("$CLIENT")
  sleep 0.5
}
# ready_byte_after_stopping_a: stops A (A_PID) while the client runs and
# waits for B's ready byte (BG_READY); the times in A_STOPPED_NS, B_READY_NS;
# READY_AT: how many connections the client had made by then.
ready_byte_after_stopping_a() {
  A_STOPPED_NS=$(date +%s%N)
  kill "$A_PID"
  local byte=""
  read -r -t 10 -n 1 byte <&"$BG_READY" || true
  B_READY_NS=$(date +%s%N)
  [[ $byte == 1 ]] || fail "B did not become ready after A stopped: $(cat "$T/netd-b.log")"
  READY_AT=$(wc -l <"$T/client.out")
  wait_exit "$A_PID" 5 || fail "A did not exit"
}
# after_ready_all_ok WHAT: the client loop ends; every connection it made
# after B was ready (READY_AT) reached B's container.
after_ready_all_ok() {
  wait_exit "$CLIENT" 30 || fail "$1: the client loop did not end"
  local after n_after n_ok
  after=$(tail -n +$((READY_AT + 1)) "$T/client.out")
  n_after=$(grep_or_none -c . <<<"$after")
  n_ok=$(grep_or_none -c ' ok$' <<<"$after")
  ((n_after >= 20 && n_ok == n_after)) ||
    fail "$1: after B was ready, $n_ok of $n_after connections reached B: $(grep -v ' ok$' <<<"$after" | head -3)"
  ok "$1: B ready $(((B_READY_NS - A_STOPPED_NS) / 1000000)) ms after A was told to stop; $n_ok of $n_after later connections reached B's container"
}

# attach_a_then_b SPEC WHERE: netd attach -p SPEC for A's container (A_PID),
# then the same for B's in the background (B_PID, ready byte on BG_READY,
# log $T/netd-b.log), until B says WHERE is held by A.
attach_a_then_b() {
  CTR=$CTR_A
  netd_attach --configure --disable-dns -p "$1"
  A_PID=$NETD_PID
  start_netd_bg "$T/netd-b.log" attach --ready-fd 3 --configure --disable-dns -p "$1" "$CTR_B"
  B_PID=$BG_NETD
  retry 30 grep -q "$2 is in use by pid $A_PID (netd); waiting" "$T/netd-b.log" ||
    fail "$2: B did not report the port held by A ($A_PID): $(cat "$T/netd-b.log")"
}

# ---- A goes away within B's wait ------------------------------------------
attach_a_then_b "127.0.0.1:$PORT:8080" "127.0.0.1:$PORT/tcp"
start_client "$PORT"
ready_byte_after_stopping_a
after_ready_all_ok "attach -p: handover"
kill "$B_PID"
wait_exit "$B_PID" 10 || fail "B did not exit"

# ---- A stays: B names it ----------------------------------------------------
: >"$NETD_LOG"
CTR=$CTR_A
netd_attach --configure --disable-dns -p "127.0.0.1:$PORT:8080"
A_PID=$NETD_PID
t0=$(date +%s%N)
start_netd_bg "$T/netd-b2.log" attach --configure --disable-dns -p "127.0.0.1:$PORT:8080" "$CTR_B"
wait_exit "$BG_NETD" 15 || fail "B is still waiting after 15 s"
t1=$(date +%s%N)
((EXIT_RC == 1)) || fail "B exited with $EXIT_RC, not 1: $(cat "$T/netd-b2.log")"
grep -q "cannot bind 127.0.0.1:$PORT/tcp: Address already in use.*held by pid $A_PID (netd) (waited 5000 ms)" \
  "$T/netd-b2.log" || fail "B's error does not name A ($A_PID): $(cat "$T/netd-b2.log")"
waited=$(((t1 - t0) / 1000000))
((waited >= 5000 && waited < 9000)) || fail "B gave up after $waited ms, not after its 5 s wait"
kill -0 "$A_PID" || fail "A died"
ok "A stays: B gave up after $waited ms: $(grep -o 'cannot bind.*' "$T/netd-b2.log")"
kill "$A_PID"
wait_exit "$A_PID" 10 || fail "A did not exit"

# ---- UDP: datagrams through the switch ------------------------------------
# Each container answers a datagram with its tag and the datagram.
cat >"$T/udp_tag.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[2])))
s.settimeout(1)
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    s.sendto(sys.argv[1].encode() + b" " + data, peer)
PY
# One datagram every 10 ms for 4 s from one socket; "sent N NS" and
# "got TAG N NS" lines (answers for 1 s after the last send).
cat >"$T/udp_client.py" <<'PY'
import socket, sys, threading, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
out = []
done = threading.Event()
def receive():
    while not done.is_set():
        try:
            data = s.recv(2048)
        except OSError:  # timeout; or a refusal reported on this socket
            continue
        tag, n = data.split()
        out.append(f"got {tag.decode()} {int(n)} {time.time_ns()}")
r = threading.Thread(target=receive)
r.start()
for n in range(400):
    out.append(f"sent {n} {time.time_ns()}")
    s.sendto(str(n).encode(), ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.01)
time.sleep(1)
done.set()
r.join()
print("\n".join(out))
PY
PORTU=18093
CTR=$CTR_A
in_ctr_bg "$PY" "$T/udp_tag.py" A 5353
wait_listening 5353 in_ctr
CTR=$CTR_B
in_ctr_bg "$PY" "$T/udp_tag.py" B 5353
wait_listening 5353 in_ctr
attach_a_then_b "127.0.0.1:$PORTU:5353/udp" "127.0.0.1:$PORTU/udp"
"$PY" "$T/udp_client.py" "$PORTU" >"$T/udp.out" &
CLIENT=$!
PIDS+=("$CLIENT")
sleep 1
: >"$T/client.out"
ready_byte_after_stopping_a
wait_exit "$CLIENT" 15 || fail "UDP: the client did not end"
# Per datagram: when it was sent, who answered.
verdict=$("$PY" - "$T/udp.out" "$A_STOPPED_NS" "$B_READY_NS" <<'PY'
import sys
sent, got = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "sent":
        sent[int(f[1])] = int(f[2])
    else:
        got.setdefault(int(f[2]), []).append(f[1])
a_stop, b_ready = int(sys.argv[2]), int(sys.argv[3])
twice = [n for n, tags in got.items() if len(tags) > 1]
after = [n for n, t in sent.items() if t > b_ready]
missing = [n for n in after if got.get(n) != ["B"]]
last_a = max((n for n, tags in got.items() if tags == ["A"]), default=-1)
first_b = min((n for n, tags in got.items() if tags == ["B"]), default=-1)
lost = [n for n in sent if n not in got]
gap_ms = (sent[first_b] - sent[last_a]) // 1000000 if last_a >= 0 and first_b >= 0 else -1
print(f"{len(sent)} sent; A answered up to #{last_a}, B from #{first_b}; {len(lost)} lost "
      f"(all between: {all(last_a < n < first_b for n in lost)}), a gap of {gap_ms} ms; "
      f"{len(after)} sent after B was ready, {len(after) - len(missing)} answered by B")
bad = []
if twice: bad.append(f"answered twice: {twice[:5]}")
if len(after) < 100: bad.append(f"only {len(after)} sent after B was ready")
if missing: bad.append(f"sent after B was ready but not answered by B (only): {missing[:5]}")
if last_a < 0 or first_b < 0: bad.append("A or B never answered")
if any(not (last_a < n < first_b) for n in lost): bad.append("a datagram outside the switch was lost")
if bad:
    print("; ".join(bad))
    sys.exit(1)
PY
) || fail "UDP handover: $verdict"
ok "UDP handover (B ready $(((B_READY_NS - A_STOPPED_NS) / 1000000)) ms after A was told to stop): $verdict"
grep -q "127.0.0.1:$PORTU/udp taken over after" "$T/netd-b.log" || fail "UDP: B did not log the takeover: $(cat "$T/netd-b.log")"
kill "$B_PID"
wait_exit "$B_PID" 10 || fail "B did not exit"

# ---- netd pasta -t (Podman 5) --------------------------------------------
# The containers' namespaces as files, as Podman makes them.
PORTP=18094
run=()
[[ "$NETD_HARNESS_OUTER_UID" != 0 ]] && run=(setpriv --bounding-set=-all --inh-caps=-all)
mkdir -p "$T/bin"
ln -s "$NETD_BIN" "$T/bin/pasta"
for c in A B; do
  touch "$T/netns-$c"
  ctr_var=CTR_$c
  mount --bind "/proc/${!ctr_var}/ns/net" "$T/netns-$c"
done
# pasta_a: pasta for A's container, holding 127.0.0.1:PORTP; A_PID its daemon.
pasta_a() {
  local out
  rm -f "$T/pasta-a.pid"
  out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net -q --pid "$T/pasta-a.pid" -t "127.0.0.1/$PORTP:8080" \
    -u none -T none -U none --netns "$T/netns-A" 2>&1) || fail "pasta A: $out"
  A_PID=$(cat "$T/pasta-a.pid")
  PIDS+=("$A_PID")
}
# pasta_b: pasta for B's container, in the background: B_PARENT is the
# process Podman would wait for, its output in $T/pasta-b.log.
pasta_b() {
  rm -f "$T/pasta-b.pid"
  "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta-b.pid" -t "127.0.0.1/$PORTP:8080" \
    -u none -T none -U none --netns "$T/netns-B" >"$T/pasta-b.log" 2>&1 &
  B_PARENT=$!
  PIDS+=("$B_PARENT")
}
pasta_a
pasta_b
# (a sandboxed netd cannot be looked into by its own user: then the message
# names it as a candidate, "perhaps pid N (pasta)")
retry 50 grep -q "127.0.0.1:$PORTP/tcp is in use by .*pid $A_PID (pasta).*; waiting" "$T/pasta-b.log" ||
  fail "pasta B did not report the port held by A ($A_PID): $(cat "$T/pasta-b.log")"
sleep 0.3
kill -0 "$B_PARENT" 2>/dev/null || fail "pasta B's parent exited while the port was still A's: $(cat "$T/pasta-b.log")"
[[ ! -e "$T/pasta-b.pid" ]] || fail "pasta B wrote its pid file before it had the port"
start_client "$PORTP"
A_STOPPED_NS=$(date +%s%N)
kill "$A_PID"
wait_exit "$B_PARENT" 10 || fail "pasta B's parent still waits 10 s after A was told to stop"
B_READY_NS=$(date +%s%N)
((EXIT_RC == 0)) || fail "pasta B's parent exited $EXIT_RC: $(cat "$T/pasta-b.log")"
READY_AT=$(wc -l <"$T/client.out")
wait_exit "$A_PID" 5 || fail "pasta A did not exit"
B_PID=$(cat "$T/pasta-b.pid")
PIDS+=("$B_PID")
after_ready_all_ok "pasta -t: handover (the parent exited 0 once the port was bound)"
kill "$B_PID"
wait_exit "$B_PID" 10 || fail "pasta B did not exit"

# A stays: B's parent exits 1 after the wait, naming A.
pasta_a
t0=$(date +%s%N)
pasta_b
wait_exit "$B_PARENT" 15 || fail "pasta B still waits after 15 s"
waited=$((($(date +%s%N) - t0) / 1000000))
((EXIT_RC == 1)) || fail "pasta B exited with $EXIT_RC, not 1: $(cat "$T/pasta-b.log")"
grep -q "cannot bind 127.0.0.1:$PORTP/tcp: Address already in use.*pid $A_PID (pasta).*(waited 5000 ms)" \
  "$T/pasta-b.log" || fail "pasta B's error does not name A ($A_PID): $(cat "$T/pasta-b.log")"
((waited >= 5000 && waited < 9000)) || fail "pasta B gave up after $waited ms, not after its 5 s wait"
[[ ! -e "$T/pasta-b.pid" ]] || fail "pasta B left a pid file"
kill -0 "$A_PID" || fail "pasta A died"
ok "pasta, A stays: B's parent exited 1 after $waited ms: $(grep -o 'cannot bind.*' "$T/pasta-b.log")"
kill "$A_PID"
wait_exit "$A_PID" 10 || fail "pasta A did not exit"

# pesto adds a port A holds: the change waits on the pesto thread (the data
# plane keeps serving B's other port meanwhile) and takes the port once A
# has gone.
PORTQ=18098
ln -s "$NETD_BIN" "$T/bin/pesto"
pasta_a
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta-b.pid" -l "$T/pasta-b.log" \
  -c "$T/pesto-b.sock" -t "127.0.0.1/$PORTQ:8080" -u none -T none -U none --netns "$T/netns-B" 2>&1) ||
  fail "pasta B with -c: $out"
B_PID=$(cat "$T/pasta-b.pid")
PIDS+=("$B_PID")
out=$("$T/bin/pesto" --add -t "127.0.0.1/$PORTP:8080" "$T/pesto-b.sock" 2>&1) || fail "pesto --add: $out"
retry 50 grep -q "127.0.0.1:$PORTP/tcp is in use by .*; waiting up to" "$T/pasta-b.log" ||
  fail "pesto: pasta B did not report the port in use: $(cat "$T/pasta-b.log")"
for i in 1 2 3; do
  who=$("$PY" "$SERVERS" tcp-client 127.0.0.1 "$PORTQ" echo during-the-wait) ||
    fail "pesto: B's port $PORTQ did not answer while the change waited: $who"
done
start_client "$PORTP"
A_STOPPED_NS=$(date +%s%N)
kill "$A_PID"
retry 100 grep -q "127.0.0.1:$PORTP/tcp taken over after" "$T/pasta-b.log" ||
  fail "pesto: pasta B did not take the port after A stopped: $(cat "$T/pasta-b.log")"
B_READY_NS=$(date +%s%N)
READY_AT=$(wc -l <"$T/client.out")
wait_exit "$A_PID" 5 || fail "pasta A did not exit"
grep -q "pesto: .* inbound forwarding rule(s) in force" "$T/pasta-b.log" ||
  fail "pesto: the change was not applied: $(cat "$T/pasta-b.log")"
after_ready_all_ok "pesto --add of a port A held: handover (B's other port answered during the wait)"
kill "$B_PID"
wait_exit "$B_PID" 10 || fail "pasta B did not exit"

# ---- add_hostfwd through the API socket -------------------------------------
PORTA=18095
ctl() { "$NETD_BIN" ctl --socket "$T/api.sock" "$1"; }
add_req='{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":'$PORTA',"guest_port":8080}}'
: >"$NETD_LOG"
CTR=$CTR_A
netd_attach --configure --disable-dns -p "127.0.0.1:$PORTA:8080"
A_PID=$NETD_PID
# B without its sandbox first: a netd in it (or under its seccomp filter)
# cannot read /proc to look up the holder of a port added after start-up
# (that case follows).
CTR=$CTR_B
netd_attach --configure --disable-dns --disable-sandbox --disable-seccomp --api-socket "$T/api.sock"
B_PID=$NETD_PID
ctl "$add_req" >"$T/ctl.out" 2>&1 &
ctl_pid=$!
PIDS+=("$ctl_pid")
retry 30 grep -q "api: add_hostfwd: 127.0.0.1:$PORTA/tcp is in use by pid $A_PID (netd); waiting" "$NETD_LOG" ||
  fail "API: B did not report the port held by A ($A_PID): $(cat "$NETD_LOG")"
# Meanwhile the data plane answers (get_counters runs on its loop thread).
t0=$(date +%s%N)
out=$(ctl '{"execute":"get_counters"}') || fail "API: get_counters during the wait: $out"
took=$((($(date +%s%N) - t0) / 1000000))
[[ "$out" == *'"counters"'* ]] || fail "API: get_counters during the wait: $out"
((took < 1000)) || fail "API: get_counters took $took ms while an add waited"
start_client "$PORTA"
A_STOPPED_NS=$(date +%s%N)
kill "$A_PID"
wait_exit "$ctl_pid" 10 || fail "API: netd ctl still waits 10 s after A was told to stop"
B_READY_NS=$(date +%s%N)
READY_AT=$(wc -l <"$T/client.out")
((EXIT_RC == 0)) && grep -q '"id":1' "$T/ctl.out" || fail "API: add_hostfwd answered (exit $EXIT_RC): $(cat "$T/ctl.out")"
wait_exit "$A_PID" 5 || fail "A did not exit"
after_ready_all_ok "API add_hostfwd: handover (get_counters answered in $took ms during the wait)"

kill "$B_PID"
wait_exit "$B_PID" 10 || fail "B did not exit"

# A stays, B in its sandbox (the default): the add fails after the wait,
# saying how to find the holder.
PORTA2=18096
CTR=$CTR_B
netd_attach --configure --disable-dns --api-socket "$T/api.sock"
B_PID=$NETD_PID
CTR=$CTR_A
netd_attach --configure --disable-dns -p "127.0.0.1:$PORTA2:8080"
A_PID=$NETD_PID
t0=$(date +%s%N)
rc=0
out=$(ctl "${add_req/$PORTA/$PORTA2}" 2>&1) || rc=$?
waited=$((($(date +%s%N) - t0) / 1000000))
((rc == 1)) || fail "API: an add for a port A keeps: exit $rc: $out"
[[ "$out" == *"add_hostfwd: cannot bind 127.0.0.1:$PORTA2/tcp: Address already in use"*"held by a process netd cannot look up from its sandbox (\`ss -tlnp 'sport = :$PORTA2'\` names it) (waited 5000 ms)"* ]] ||
  fail "API: the error does not say how to find the holder: $out"
((waited >= 5000 && waited < 9000)) || fail "API: the add gave up after $waited ms, not after its 5 s wait"
list=$(ctl '{"execute":"list_hostfwd"}')
[[ "$list" == '{"return":{"entries":[]}}' ]] || fail "API: list_hostfwd after the failed add: $list"
ok "API, A stays: add_hostfwd failed after $waited ms: $(grep -o 'cannot bind.*' <<<"$out")"
kill "$A_PID" "$B_PID"
wait_exit "$A_PID" 10 && wait_exit "$B_PID" 10 || fail "A or B did not exit"

# ---- netd forward -p ------------------------------------------------------------
PORTF=18097
: >"$NETD_LOG"
run_netd_ready forward --ready-fd 3 -p "127.0.0.1:$PORTF:8080" "$CTR_A"
A_PID=$NETD_PID
start_netd_bg "$T/netd-b.log" forward --ready-fd 3 -p "127.0.0.1:$PORTF:8080" "$CTR_B"
B_PID=$BG_NETD
retry 30 grep -q "127.0.0.1:$PORTF/tcp is in use by .*pid $A_PID (netd).*; waiting" "$T/netd-b.log" ||
  fail "forward: B did not report the port held by A ($A_PID): $(cat "$T/netd-b.log")"
start_client "$PORTF"
ready_byte_after_stopping_a
after_ready_all_ok "netd forward: handover"
kill "$B_PID"
wait_exit "$B_PID" 10 || fail "B did not exit"

pass
