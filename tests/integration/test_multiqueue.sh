#!/usr/bin/env bash
# netd attach --queues N: a multi-queue tap, one thread and loop per queue.
# For 2 and then 4 queues, while parallel TCP streams flow (guest -> host
# loopback through the gateway, and host -> published port -> guest, every
# stream's bytes counted and hashed) and UDP echoes go back and forth, the
# fault-style case runs: 16 connections through a published port (netd
# starts them, so queue 0 answers them) stay idle for 7 s, long enough for
# the kernel to forget which queue their flow belongs to (its entries age
# out after 3 to 6 s), and then the guest sends first: its frames may now
# reach any queue, which must hand them to queue 0 instead of resetting
# them, so every byte still arrives. The same for 16 UDP clients of a
# published UDP port whose guest answers after 7 s; and 16 connections the
# guest starts, idle as long, then used again (they must find the queue
# that knows them). Then: the handoffs were counted, every queue carried
# frames, no connection was reset, and netd exits cleanly. Last, the
# outbound address of every queue's flows follows a renumbered interface.
source "$(dirname "$0")/lib.sh"

STREAM=${NETD_TEST_MQ_STREAM:-20000000}  # bytes per stream
IDLE=7

# A guest that speaks first after a pause, and its host-side clients.
cat >"$T/idle.py" <<'PY'
import socket, sys, threading, time
sys.path.insert(0, sys.argv[1])
import servers

def tcp_server(port, delay, n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(64)
    def one(c):
        with c:
            time.sleep(float(delay))
            for chunk in servers.pattern_chunks(int(n)):
                c.sendall(chunk)
    end = time.monotonic() + 200
    s.settimeout(1.0)
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=one, args=(c,), daemon=True).start()

def tcp_clients(port, k, n):
    want = (int(n), servers.pattern_sha(int(n)))
    bad = []
    def one(i):
        import hashlib
        h, total = hashlib.sha256(), 0
        with socket.create_connection(("127.0.0.1", int(port)), timeout=60) as c:
            while True:
                d = c.recv(1 << 20)
                if not d:
                    break
                h.update(d)
                total += len(d)
        if (total, h.hexdigest()) != want:
            bad.append(f"conn {i}: {total} bytes")
    ts = [threading.Thread(target=one, args=(i,)) for i in range(int(k))]
    for t in ts: t.start()
    for t in ts: t.join()
    if bad:
        sys.exit("idle TCP: " + "; ".join(bad))
    print(f"ok {k} idle connections, {n} bytes each after the pause")

def guest_idle(addr, port, k, delay):
    # Connections the guest starts, idle past the kernel's memory of their
    # queue, then used again: they come back to the queue their hash names.
    conns, bad = [], []
    for i in range(int(k)):
        c = socket.create_connection((addr, int(port)), timeout=30)
        c.sendall(f"a{i}".encode())
        conns.append(c)
    for i, c in enumerate(conns):
        if c.recv(100) != f"a{i}".encode():
            bad.append(f"conn {i}: first echo")
    time.sleep(float(delay))
    for i, c in enumerate(conns):
        c.sendall(f"b{i}".encode())
    for i, c in enumerate(conns):
        if c.recv(100) != f"b{i}".encode():
            bad.append(f"conn {i}: echo after the pause")
        c.close()
    if bad:
        sys.exit("guest idle: " + "; ".join(bad))
    print(f"ok {k} guest connections echoed again after {delay} s idle")

def udp_server(port, delay, k):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(60)
    peers = []
    while len(peers) < int(k):
        data, peer = s.recvfrom(2048)
        peers.append((data, peer))
    time.sleep(float(delay))
    for data, peer in peers:
        s.sendto(b"late " + data, peer)

def udp_clients(port, k):
    socks = []
    for i in range(int(k)):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(("127.0.0.1", int(port)))
        u.send(f"client {i}".encode())
        socks.append(u)
    for i, u in enumerate(socks):
        u.settimeout(30)
        got = u.recv(2048).decode()
        if got != f"late client {i}":
            sys.exit(f"idle UDP client {i}: got {got!r}")
    print(f"ok {k} UDP clients answered after the pause")

{"tcp-server": tcp_server, "tcp-clients": tcp_clients, "udp-server": udp_server,
 "udp-clients": udp_clients, "guest-idle": guest_idle}[sys.argv[2]](*sys.argv[3:])
PY
idle() { "$PY" "$T/idle.py" "$HERE" "$@"; }

host_server tcp-server 8081
host_server udp-echo 8082
host_server echo-async 8083

run_case() {
  local queues=$1 pids=() i rc=0
  container_up
  : >"$NETD_LOG.case"
  netd_attach --configure --disable-dns --queues "$queues" \
    -p 127.0.0.1:9090:8090 -p 127.0.0.1:9092:8092 -p 127.0.0.1:9093:8093/udp
  in_ctr_bg "$PY" "$SERVERS" tcp-server 0.0.0.0 8090
  in_ctr_bg "$PY" "$T/idle.py" "$HERE" tcp-server 8092 "$IDLE" 3000000
  in_ctr_bg "$PY" "$T/idle.py" "$HERE" udp-server 8093 "$IDLE" 16
  wait_listening 8090 in_ctr
  wait_listening 8092 in_ctr
  wait_listening 8093 in_ctr

  # The idle connections first: they pause while the streams run.
  idle tcp-clients 9092 16 3000000 >"$T/idle-tcp.out" 2>&1 &
  pids+=($!)
  idle udp-clients 9093 16 >"$T/idle-udp.out" 2>&1 &
  pids+=($!)
  in_ctr "$PY" "$T/idle.py" "$HERE" guest-idle 10.0.2.2 8083 16 "$IDLE" >"$T/idle-guest.out" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 4; i++)); do
    in_ctr "$PY" "$SERVERS" tcp-client 10.0.2.2 8081 upload "$STREAM" >"$T/up$i.out" 2>&1 &
    pids+=($!)
    in_ctr "$PY" "$SERVERS" tcp-client 10.0.2.2 8081 download "$STREAM" >"$T/down$i.out" 2>&1 &
    pids+=($!)
    "$PY" "$SERVERS" tcp-client 127.0.0.1 9090 upload "$STREAM" >"$T/in-up$i.out" 2>&1 &
    pids+=($!)
    "$PY" "$SERVERS" tcp-client 127.0.0.1 9090 download "$STREAM" >"$T/in-down$i.out" 2>&1 &
    pids+=($!)
  done
  # (UDP may lose a datagram on a saturated tap, as on any link: each echo
  # gets three tries; a wrong answer fails at once.)
  for ((i = 0; i < 8; i++)); do
    for ((try = 0; try < 3; try++)); do
      out=$(in_ctr "$PY" "$SERVERS" udp-client 10.0.2.2 8082 "dgram-$i") && break
    done
    [[ "$out" == "dgram-$i" ]] || fail "UDP echo $i: got '$out'"
  done
  ok "queues=$queues: 8 UDP echoes guest -> host loopback while the streams flow"
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  for f in "$T"/up?.out "$T"/down?.out "$T"/in-up?.out "$T"/in-down?.out "$T"/idle-*.out; do
    grep -q '^ok' "$f" || fail "queues=$queues: $(basename "$f"): $(cat "$f")"
  done
  [[ $rc -eq 0 ]] || fail "queues=$queues: a client failed"
  ok "queues=$queues: 16 TCP streams of $STREAM bytes each, 4 each way per direction, every byte hashed"
  ok "queues=$queues: $(cat "$T/idle-tcp.out")"
  ok "queues=$queues: $(cat "$T/idle-udp.out")"
  ok "queues=$queues: $(cat "$T/idle-guest.out")"

  local handoffs
  handoffs=$(netd_counter queue_handoffs)
  [[ "$handoffs" -ge 1 ]] || fail "queues=$queues: no frame was handed to queue 0 (queue_handoffs=$handoffs)"
  ok "queues=$queues: $handoffs frames handed to queue 0 after the kernel forgot their flows"
  rst=$(netd_counter tcp_rst_sent)
  [[ "$rst" -eq 0 ]] || fail "queues=$queues: netd reset $rst connection(s) (a queue answered a flow it did not know?)"
  every_queue_carried "queues=$queues" "$NETD_LOG" "$queues"
  ok "queues=$queues: every queue read frames: $QUEUE_LINES"
  grep -q "$queues tap queues, one thread each" "$NETD_LOG" || fail "netd did not log its $queues queues"

  kill -TERM "$NETD_PID"
  wait_exit "$NETD_PID" 10 || fail "netd did not exit on SIGTERM"
  [[ $EXIT_RC -eq 0 ]] || fail "queues=$queues: netd exited with $EXIT_RC"
  kill "$CTR" 2>/dev/null || true
}

run_case 2
run_case 4

# --outbound-addr with an interface name: every queue's new flows bind to
# its address, and to the new one once the interface is renumbered (the
# change reaches each queue's thread through its control inbox). 16 flows
# each time, from as many source ports: both queues get some.
world_up
ip link add out0 type veth peer name out0p
ip link set out0p up
ip link set out0 up
ip addr add 198.51.100.2/32 dev out0
world_server tcp-server 7001
container_up
netd_attach --configure --disable-dns --queues 2 --outbound-addr out0
sources() {
  local i out
  for ((i = 0; i < 16; i++)); do
    out=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 7001 who) || fail "who $i: $out"
    echo "${out%% *}"
  done | sort | uniq -c | xargs
}
[[ "$(sources)" == "16 198.51.100.2" ]] || fail "outbound: sources $(sources), not 16 x 198.51.100.2"
ip addr add 198.51.100.3/32 dev out0
ip addr del 198.51.100.2/32 dev out0
retry 50 grep -q "outbound interface out0: new IPv4 address 198.51.100.3" "$NETD_LOG" ||
  fail "outbound: the new address was not taken: $(tail -n3 "$NETD_LOG")"
[[ "$(sources)" == "16 198.51.100.3" ]] || fail "outbound: after renumbering, sources $(sources), not 16 x 198.51.100.3"
kill -USR1 "$NETD_PID"
retry 30 grep -q "queue 1: frames in" "$NETD_LOG" || fail "no per-queue counters after SIGUSR1"
ok "--queues 2 --outbound-addr out0: 16 flows from 198.51.100.2, 16 from 198.51.100.3 after renumbering ($(grep -o 'queue 1: frames in [0-9]*' "$NETD_LOG" | tail -n1))"
kill -TERM "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "netd did not exit on SIGTERM"
kill "$CTR" 2>/dev/null || true

# Bad values: a clear error and a non-zero status (CLI11's own for a value
# out of range; 2 for the combination netd itself refuses).
container_up
for bad in 0 9 two; do
  rc=0
  out=$("$NETD_BIN" attach --queues "$bad" "$CTR" 2>&1) || rc=$?
  [[ $rc -ne 0 ]] || fail "--queues $bad: accepted ($out)"
  grep -q -- "--queues" <<<"$out" || fail "--queues $bad: the message does not name the option: $out"
done
rc=0
out=$("$NETD_BIN" attach --queues 2 --pcap "$T/x.pcap" "$CTR" 2>&1) || rc=$?
[[ $rc -eq 2 && "$out" == *"--queues 1"* ]] || fail "--queues 2 --pcap: $rc $out"
ok "--queues 0, 9, two and --queues 2 with --pcap are refused with a clear message"
pass
