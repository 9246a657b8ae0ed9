#!/usr/bin/env bash
# Integration test of `netd dns` (aardvark-dns compatible server).
#
# In the harness' own namespaces (lib.sh), on their loopback: the server
# listens on 127.77.0.x (all of 127.0.0.0/8 is loopback on Linux),
# "containers" are source addresses 127.77.1.x / 127.77.2.x chosen with
# `dig -b`, and the upstream is a python3 responder on 127.0.0.1 started
# here. Every loop is bounded, every process started here is killed by pid.
source "$(dirname "$0")/lib.sh"
need_tools dig

WORK=$T
CFG=$WORK/config
mkdir -p "$CFG"
PORT=5353  # (the namespace is the test's own: nothing else listens)

check_eq() {  # name expected actual
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
  ok "$1"
}

# --- the test upstream: UDP+TCP on 127.0.0.1, answers A 192.0.2.1 TTL 60 to
# everything; plus a UDP socket that never answers (a dead upstream).
cat > "$WORK/upstream.py" <<'PY'
import socket, struct, sys, threading, select, time
def answer(q):
    if len(q) < 12: return None
    pos = 12
    while pos < len(q) and q[pos] != 0:
        pos += 1 + q[pos]
    pos += 5
    if pos > len(q): return None
    qtype = struct.unpack('>H', q[pos-4:pos-2])[0]
    hdr = q[:2] + b'\x81\x80' + b'\x00\x01' + (b'\x00\x01' if qtype == 1 else b'\x00\x00') + b'\x00\x00\x00\x00'
    body = q[12:pos]
    if qtype == 1:
        body += b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04' + bytes([192, 0, 2, 1])
    return hdr + body
count = {'udp': 0, 'tcp': 0}
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
port = u.getsockname()[1]
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(('127.0.0.1', port)); t.listen(16)
dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); dead.bind(('127.0.0.1', 0))
with open(sys.argv[1] + '.tmp', 'w') as f: f.write('%d %d\n' % (port, dead.getsockname()[1]))
import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])
def serve_tcp(c):
    c.settimeout(10)
    try:
        while True:
            l = c.recv(2)
            if len(l) < 2: break
            n = struct.unpack('>H', l)[0]; q = b''
            while len(q) < n:
                d = c.recv(n - len(q))
                if not d: return
                q += d
            count['tcp'] += 1
            r = answer(q)
            if r: c.sendall(struct.pack('>H', len(r)) + r)
    except OSError: pass
    finally: c.close()
end = time.time() + 240
while time.time() < end:
    r, _, _ = select.select([u, t], [], [], 0.5)
    if u in r:
        q, a = u.recvfrom(4096); count['udp'] += 1
        with open(sys.argv[1] + '.count', 'w') as f: f.write(str(count['udp']))
        ans = answer(q)
        if ans: u.sendto(ans, a)
    if t in r:
        c, _ = t.accept(); threading.Thread(target=serve_tcp, args=(c,), daemon=True).start()
PY
"$PY" "$WORK/upstream.py" "$WORK/ports" &
PIDS+=($!)
for _ in $(seq 50); do [ -f "$WORK/ports" ] && break; sleep 0.1; done
[ -f "$WORK/ports" ] || fail "test upstream did not start"
read -r UP_PORT DEAD_PORT < "$WORK/ports"

# --- config: two networks; cdead has a per-container upstream that never answers.
printf '127.77.0.1\nc1 127.77.1.2  web,WebAlias\nc2 127.77.1.3 fd00::3 db\ncd 127.77.1.5  deadbox 127.0.0.1:%s\n' \
  "$DEAD_PORT" > "$CFG/net1"
printf '127.77.0.2\nc9 127.77.2.9  other\n' > "$CFG/net2"

NETD_LOG=$WORK/server.log  # (lib.sh shows it when the test fails)
"$NETD_BIN" dns --config "$CFG" -p "$PORT" --foreground --upstream "127.0.0.1:$UP_PORT" run 2>"$NETD_LOG" &
SERVER=$!
PIDS+=($SERVER)
for _ in $(seq 50); do
  [ -f "$CFG/aardvark.pid" ] && break
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.1
done
[ -f "$CFG/aardvark.pid" ] || fail "server did not start"
check_eq "pid file holds the server pid" "$SERVER" "$(cat "$CFG/aardvark.pid")"
assert_confined "$SERVER" "netd dns" "$CFG"

D() { dig +time=2 +tries=1 -p "$PORT" "$@"; }
S() { D +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
status() { D "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }

check_eq "A for a container name" "127.77.1.2" "$(S -b 127.77.1.3 @127.77.0.1 web)"
check_eq "case-insensitive with search domain" "127.77.1.2" "$(S -b 127.77.1.3 @127.77.0.1 WEB.Dns.Podman)"
check_eq "alias" "127.77.1.2" "$(S -b 127.77.1.3 @127.77.0.1 webalias.dns.podman)"
check_eq "AAAA" "fd00::3" "$(S -b 127.77.1.2 @127.77.0.1 db AAAA)"
check_eq "PTR names and aliases" "web.dns.podman. webalias.dns.podman." "$(S -b 127.77.1.3 @127.77.0.1 -x 127.77.1.2)"
check_eq "unknown name under dns.podman" "NXDOMAIN" "$(status -b 127.77.1.2 @127.77.0.1 nothere.dns.podman)"
check_eq "isolation: other network's name" "NXDOMAIN" "$(status -b 127.77.1.2 @127.77.0.1 other.dns.podman)"
check_eq "name on the second network" "127.77.2.9" "$(S -b 127.77.2.9 @127.77.0.2 other)"
check_eq "host source sees the listener's network" "127.77.1.2" "$(S @127.77.0.1 web)"
check_eq "forwarded name" "192.0.2.1" "$(S -b 127.77.1.2 @127.77.0.1 forwarded.example)"
check_eq "TCP local name" "127.77.1.2" "$(S +tcp -b 127.77.1.3 @127.77.0.1 web)"
check_eq "TCP forwarded name" "192.0.2.1" "$(S +tcp -b 127.77.1.2 @127.77.0.1 tcp-forwarded.example)"
check_eq "TCP: several queries on one connection" "127.77.1.2 127.77.1.2" \
  "$(dig +time=2 +tries=1 -p "$PORT" +tcp +keepopen +short -b 127.77.1.3 @127.77.0.1 web webalias | sort | tr '\n' ' ' | sed 's/ $//')"

# Cache: the same forwarded name again must not reach the upstream.
before=$(cat "$WORK/ports.count" 2>/dev/null || echo 0)
S -b 127.77.1.2 @127.77.0.1 forwarded.example >/dev/null
after=$(cat "$WORK/ports.count" 2>/dev/null || echo 0)
check_eq "cached answer (upstream not asked again)" "$before" "$after"

# Dead upstream: SERVFAIL, within 2 s.
t0=$(date +%s%N)
st=$(D +time=5 -b 127.77.1.5 @127.77.0.1 dead.example | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "dead upstream answered SERVFAIL" "SERVFAIL" "$st"
[ "$ms" -lt 2000 ] || fail "dead upstream took ${ms} ms"
ok "dead upstream answered in ${ms} ms (< 2000)"

# Truncated TCP query: the server must stay responsive (and not spin).
"$PY" - "$PORT" <<'PY' || fail "truncated TCP query"
import socket, sys
s = socket.create_connection(('127.77.0.1', int(sys.argv[1])), timeout=3)
s.sendall(b'\x00\x40\x12\x34')   # says 64 bytes, sends 2
s.close()
PY
check_eq "alive after a truncated TCP query" "127.77.1.2" "$(S -b 127.77.1.3 @127.77.0.1 web)"

# TCP pipelining: a slow query (dead upstream) then a local one in one write,
# then EOF from the client: the local answer comes first, SERVFAIL second, then EOF.
"$PY" - "$PORT" <<'PY' || fail "TCP pipelining"
import socket, struct, sys
def q(i, name):
    qn = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
    m = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + qn + b'\0\1\0\1'
    return struct.pack('>H', len(m)) + m
s = socket.socket(); s.settimeout(5); s.bind(('127.77.1.5', 0))
s.connect(('127.77.0.1', int(sys.argv[1])))
s.sendall(q(1, 'slow.example') + q(2, 'web'))
s.shutdown(socket.SHUT_WR)
data = b''
while True:
    d = s.recv(4096)
    if not d: break
    data += d
got = []
while len(data) >= 2:
    n = struct.unpack('>H', data[:2])[0]; m = data[2:2+n]; data = data[2+n:]
    got.append((struct.unpack('>H', m[:2])[0], m[3] & 0xF))
if got != [(2, 0), (1, 2)]: sys.exit("replies %r, want [(2, NOERROR), (1, SERVFAIL)] then EOF" % got)
print("ok:   TCP pipelined queries answered out of order, EOF after the last reply")
PY

# TCP idle close: a connection that sends nothing is closed after ~5 s.
"$PY" - "$PORT" <<'PY' || fail "TCP idle close"
import socket, sys, time
s = socket.create_connection(('127.77.0.1', int(sys.argv[1])), timeout=9)
t0 = time.time()
try:
    d = s.recv(10)
except socket.timeout:
    sys.exit("still open after 9 s")
took = time.time() - t0
if d != b'' or not (3.5 < took < 8): sys.exit("closed after %.1f s with %r" % (took, d))
print("ok:   TCP idle connection closed after %.1f s" % took)
PY

# --- a burst: more queries at once than one receive batch takes (32), local
# and forwarded names mixed, and an oversized datagram among them (no query
# is that long: dropped): every query is answered, under its own id.
"$PY" - "$PORT" <<'PY' || fail "query burst"
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(('127.77.1.3', 0)); s.settimeout(3.0)
def q(i, name):
    labels = b''.join(bytes([len(p)]) + p for p in name.split(b'.'))
    return struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + labels + b'\x00\x00\x01\x00\x01'
n = 100
want = {}
for i in range(n):
    fwd = i % 10 == 5
    s.sendto(q(i, b'burst.example' if fwd else b'web'), ('127.77.0.1', port))
    want[i] = bytes([192, 0, 2, 1]) if fwd else bytes([127, 77, 1, 2])
    if i == 40:
        s.sendto(q(9999, b'web') + b'\x00' * 5000, ('127.77.0.1', port))
got = {}
try:
    while len(got) < n:
        r = s.recv(512)
        got[struct.unpack('>H', r[:2])[0]] = r[-4:]
except socket.timeout:
    pass
missing = [i for i in range(n) if i not in got]
wrong = [i for i in range(n) if i in got and got[i] != want[i]]
if missing or wrong or 9999 in got:
    print('missing', missing, 'wrong', wrong, 'oversized answered', 9999 in got)
    sys.exit(1)
PY
ok "a burst of 100 queries (local and forwarded) answered, each under its own id"

# --- SIGHUP during a bounded query flood: no query may be lost.
cat > "$WORK/flood.py" <<'PY'
import socket, struct, sys, time
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.77.1.3', 0)); s.settimeout(1.0)
q = lambda i: struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + b'\x03web\x00\x00\x01\x00\x01'
lost = 0
for i in range(n):
    s.sendto(q(i), ('127.77.0.1', port))
    try:
        while True:
            r = s.recv(512)
            if struct.unpack('>H', r[:2])[0] == i: break
    except socket.timeout:
        lost += 1
    time.sleep(0.002)
open(out, 'w').write(str(lost))
PY
"$PY" "$WORK/flood.py" "$PORT" 1500 "$WORK/lost" &
FLOOD=$!
PIDS+=($FLOOD)
sleep 0.3
printf '127.77.0.1\nc1 127.77.1.2  web,WebAlias\nc2 127.77.1.3 fd00::3 db\nc7 127.77.1.7  newbox\n' > "$CFG/net1.tmp"
mv "$CFG/net1.tmp" "$CFG/net1"
printf '127.77.0.3\nc8 127.77.3.8  third\n' > "$CFG/net3"
rm -f "$CFG/net2"
for _ in 1 2 3; do kill -HUP "$SERVER"; sleep 0.3; done
wait "$FLOOD"
check_eq "queries lost during SIGHUP reloads" "0" "$(cat "$WORK/lost" 2>/dev/null || echo missing)"
check_eq "reload added a name" "127.77.1.7" "$(S -b 127.77.1.3 @127.77.0.1 newbox)"
check_eq "reload added a listener" "127.77.3.8" "$(S -b 127.77.3.8 @127.77.0.3 third)"
rc=0
out=$(D @127.77.0.2 other) || rc=$?
((rc != 0)) || fail "127.77.0.2 still answers: $out"
ok "reload closed a removed listener"

# --- no listen address left: pid file removed, exit 0.
rm -f "$CFG/net1" "$CFG/net3"
kill -HUP "$SERVER"
wait_exit "$SERVER" 5 || fail "server still running with no listen address"
check_eq "exit status with no listen address" "0" "$EXIT_RC"
[ ! -f "$CFG/aardvark.pid" ] || fail "pid file left behind"
ok "pid file removed"

# --- daemon mode: the parent returns after the child listens and wrote its pid.
printf '127.77.0.4\nc1 127.77.4.2  daemonbox\n' > "$CFG/net4"
"$NETD_BIN" dns --config "$CFG" -p "$PORT" --upstream "127.0.0.1:$UP_PORT" run || fail "daemon start"
ok "daemon parent exited 0"
DPID=$(cat "$CFG/aardvark.pid") || fail "the daemon wrote no pid file"
PIDS+=("$DPID")
# netavark reads the pid file as the number alone: no newline.
check_eq "pid file bytes" "$(printf '%s' "$DPID" | od -An -c | tr -s ' ')" "$(od -An -c "$CFG/aardvark.pid" | tr -s ' ')"
check_eq "daemon answers at once" "127.77.4.2" "$(S -b 127.77.4.2 @127.77.0.4 daemonbox)"
kill "$DPID"
wait_exit "$DPID" 5 || fail "the daemon did not stop on SIGTERM"
# `version`: aardvark-dns' JSON, byte for byte (keys in its order, two-space indent).
expected_version=$(printf '{\n  "version": "%s",\n  "commit": "netd",\n  "build_time": "",\n  "target": "%s-unknown-linux-gnu"\n}' \
  "$("$NETD_BIN" dns version | sed -n 's/^  "version": "\(.*\)",$/\1/p')" "$(uname -m)")
check_eq "version output" "$expected_version" "$("$NETD_BIN" dns version)"
# Start-up error: the address is not bindable -> parent exits 1.
printf '192.0.2.77\n' > "$CFG/net5"
if "$NETD_BIN" dns --config "$CFG" -p "$PORT" --upstream "127.0.0.1:$UP_PORT" run 2>/dev/null; then
  PIDS+=("$(cat "$CFG/aardvark.pid")")
  fail "daemon should fail when it cannot bind"
fi
ok "daemon start-up error exits non-zero"
pass
