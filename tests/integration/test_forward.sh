#!/usr/bin/env bash
# netd forward: host ports into a container namespace without a tap. A TCP
# server and a UDP echo server run inside the container on its 127.0.0.1; a
# client in the host namespace reaches them through host ports (IPv4 and
# IPv6 host addresses); half-close carries over; a port with nothing behind
# it resets the client; ready-fd, exit-fd and SIGTERM behave.
source "$(dirname "$0")/lib.sh"

# tcp-server ADDR PORT: per connection, read to EOF, then answer
# "<peer-ip> <byte count> <data upper-cased>" and close (half-close test).
cat >"$T/tcp.py" <<'PY'
import socket, sys, time
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
if mode == "server":
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16); s.settimeout(1.0)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            c, peer = s.accept()
        except socket.timeout:
            continue
        c.settimeout(5.0)
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
        c.sendall(("%s %d " % (peer[0], len(data))).encode() + data.upper())
        c.close()
else:  # client: send argv[4] (or N bytes with "bulk:N"), shut down writing, print the reply
    msg = sys.argv[4]
    payload = b"x" * int(msg[5:]) if msg.startswith("bulk:") else msg.encode()
    out = b""
    try:
        c = socket.create_connection((addr, port), timeout=5)
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        while True:
            b = c.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, BrokenPipeError):
        print("reset"); sys.exit(4)
    text = out.decode()
    if msg.startswith("bulk:"):
        parts = text.split(" ", 2)
        print(parts[0], parts[1], "ok" if parts[2] == "X" * int(msg[5:]) else "corrupt")
    else:
        print(text)
PY

container_up
in_ctr "$PY" "$T/tcp.py" server 127.0.0.1 8080 &
PIDS+=("$!")
in_ctr "$PY" "$SERVERS" udp-echo 127.0.0.1 5353 &
PIDS+=("$!")
retry 50 in_ctr bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' || fail "container TCP server did not start"

run=()
if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then run=(setpriv --bounding-set=-all --inh-caps=-all); fi

# start_forward ARGS...: netd forward with a ready fd, waits for the byte.
start_forward() {
  local fifo="$T/ready"
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {ready_fd}<>"$fifo"
  "${run[@]}" "$NETD_BIN" forward --ready-fd 3 "$@" 3>"$fifo" >>"$NETD_LOG" 2>&1 &
  NETD_PID=$!
  PIDS+=("$NETD_PID")
  local byte=""
  read -r -t 10 -n 1 byte <&"$ready_fd" || true
  exec {ready_fd}<&-
  [[ "$byte" == "1" ]] || fail "netd forward did not become ready (got '$byte')"
}

start_forward -p 127.0.0.1:18080:8080 -p "[::1]:18081:8080" -p 18053:5353/udp -p 18090:9 \
  --pid-file "$T/fwd.pid" "$CTR"
ok "ready byte"
[[ "$(cat "$T/fwd.pid")" == "$NETD_PID" ]] || fail "pid file holds '$(cat "$T/fwd.pid")'"
assert_confined "$NETD_PID" "netd forward"

out=$("$PY" "$T/tcp.py" client 127.0.0.1 18080 hello) || fail "TCP client: $out"
[[ "$out" == "127.0.0.1 5 HELLO" ]] || fail "TCP through 127.0.0.1:18080 returned '$out'"
ok "TCP through an IPv4 host port, half-close carried (server saw EOF, reply came back)"

out=$("$PY" "$T/tcp.py" client ::1 18081 hello6) || fail "TCP client v6: $out"
[[ "$out" == "127.0.0.1 6 HELLO6" ]] || fail "TCP through [::1]:18081 returned '$out'"
ok "TCP through an IPv6 host port"

out=$("$PY" "$T/tcp.py" client 127.0.0.1 18080 bulk:3000000) || fail "bulk: $out"
[[ "$out" == "127.0.0.1 3000000 ok" ]] || fail "bulk transfer returned '$out'"
ok "3 MB both ways intact"

for i in 1 2 3 4 5 6 7 8; do "$PY" "$T/tcp.py" client 127.0.0.1 18080 "c$i" >"$T/par.$i" & done
for ((n = 0; n < 50; n++)); do
  done_count=$(cat "$T"/par.* 2>/dev/null | grep -c "^127.0.0.1 " || true)
  [[ "$done_count" == 8 ]] && break
  sleep 0.1
done
[[ "$done_count" == 8 ]] || fail "parallel connections: $done_count of 8 answered"
ok "8 parallel connections"

out=$("$PY" "$SERVERS" udp-client 127.0.0.1 18053 hello-udp) || fail "UDP client: $out"
[[ "$out" == "hello-udp" ]] || fail "UDP echo returned '$out'"
out=$("$PY" "$SERVERS" udp-client 127.0.0.1 18053 again) || fail "UDP client: $out"
[[ "$out" == "again" ]] || fail "UDP echo returned '$out'"
ok "UDP through a host port"

rc=0
out=$("$PY" "$T/tcp.py" client 127.0.0.1 18090 nobody) || rc=$?
[[ $rc -eq 4 ]] || fail "port with no server inside: expected reset, got rc=$rc '$out'"
ok "nothing listening inside: the client is reset"

kill -0 "$NETD_PID" || fail "netd forward died"
kill -TERM "$NETD_PID"
rc=0
wait "$NETD_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit status $rc"
[[ ! -e "$T/fwd.pid" ]] || fail "pid file left behind"
rc=0
"$PY" "$T/tcp.py" client 127.0.0.1 18080 x >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "port still open after exit"
ok "SIGTERM: exit 0, pid file removed, port closed"

# exit-fd: a pipe (fifo) whose only writer is a sleep; killing it hangs up.
mkfifo "$T/exitpipe"
sleep 1000 >"$T/exitpipe" &
WRITER=$!
PIDS+=("$WRITER")
start_forward -p 127.0.0.1:18100:8080 -e 4 "$CTR" 4<"$T/exitpipe"
out=$("$PY" "$T/tcp.py" client 127.0.0.1 18100 hi) || fail "TCP via second forwarder: $out"
kill "$WRITER"
for ((i = 0; i < 50; i++)); do kill -0 "$NETD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NETD_PID" 2>/dev/null && fail "netd forward still running after the exit fd hung up"
rc=0
wait "$NETD_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "exit fd: exit status $rc"
ok "exit fd hang-up: exit 0"

rc=0
"$NETD_BIN" forward -p 80x:80 "$CTR" 2>"$T/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "not a number" "$T/err" || fail "bad spec: rc=$rc $(cat "$T/err")"
if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then
  rc=0
  "${run[@]}" "$NETD_BIN" forward -p 127.0.0.1:80:8080 "$CTR" 2>"$T/err" || rc=$?
  [[ $rc -eq 1 ]] && grep -q "ip_unprivileged_port_start" "$T/err" || fail "port 80: rc=$rc $(cat "$T/err")"
  ok "privileged port names the sysctl"
fi
ok "bad spec rejected"
pass
