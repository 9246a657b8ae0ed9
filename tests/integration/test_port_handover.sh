#!/usr/bin/env bash
# Clean port handover (netd attach -p): a container restarted with the same
# published port gets a new netd while the old one still holds the port.
# - The old netd (A) stops within the new one's (B) bounded wait: B logs
#   that the port is held by A's pid, takes the port once A has gone, becomes
#   ready and serves it; a client that keeps connecting through the
#   handover reaches B's container from then on.
# - A stays: B gives up after its wait (5 s) with exit 1 and an error that
#   names A's pid.
# Clients connect to the host's 127.0.0.1 only; the servers live in the
# test's container namespaces.
source "$(dirname "$0")/lib.sh"

PORT=18090
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

# ---- A goes away within B's wait ------------------------------------------
CTR=$CTR_A
netd_attach --configure --disable-dns -p "127.0.0.1:$PORT:8080"
A_PID=$NETD_PID
start_netd_bg "$T/netd-b.log" attach --ready-fd 3 --configure --disable-dns -p "127.0.0.1:$PORT:8080" "$CTR_B"
B_PID=$BG_NETD
retry 30 grep -q "127.0.0.1:$PORT/tcp is in use by pid $A_PID (netd); waiting" "$T/netd-b.log" ||
  fail "B did not report the port held by A ($A_PID): $(cat "$T/netd-b.log")"
# Traffic through the handover: a connection every 50 ms (A refuses them:
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
"$PY" "$T/client.py" 80 "$PORT" >"$T/client.out" &
client=$!
PIDS+=("$client")
sleep 0.5
t0=$(date +%s%N)
kill "$A_PID"
byte=""
read -r -t 10 -n 1 byte <&"$BG_READY" || true
t1=$(date +%s%N)
[[ $byte == 1 ]] || fail "B did not become ready after A stopped: $(cat "$T/netd-b.log")"
wait_exit "$A_PID" 5 || fail "A did not exit"
ready_at=$(wc -l <"$T/client.out")
wait_exit "$client" 30 || fail "the client loop did not end"
after=$(tail -n +$((ready_at + 1)) "$T/client.out")
n_after=$(grep_or_none -c . <<<"$after")
n_ok=$(grep_or_none -c ' ok$' <<<"$after")
((n_after >= 20 && n_ok == n_after)) || fail "after B was ready, $n_ok of $n_after connections reached B: $(grep -v ' ok$' <<<"$after" | head -3)"
ok "handover: B ready $(((t1 - t0) / 1000000)) ms after A was told to stop; $n_ok of $n_after later connections reached B's container"
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

pass
