#!/usr/bin/env bash
# --map-guest-addr: one address in the container leads to the host's own
# address (netd attach and netd pasta), for TCP, UDP and ICMP echo, IPv4 and
# IPv6, and keeps leading there when the host is renumbered while traffic
# flows.
#
# The host namespace is a host behind a router (lib.sh's host_uplink_up):
# veth-h holds 198.51.100.1/24 and 2001:db8::1/64, default routes via the
# world. The servers listen on the host's own address only (not on
# loopback, not on a wildcard), so only traffic that reached that address is
# answered. The clients in the container use connected UDP sockets and TCP,
# whose kernels accept replies only from the address they sent to: an
# answer proves the reply came from the alias. The servers report the
# client they saw: the host's own address (netd's host socket connects from
# the host to itself).
#
# The renumbering (fault-style): while a loop of UDP requests (one socket:
# one flow in netd) and short TCP connections runs, plus a ping with one
# echo identifier, the interface gets a new address, servers start on it,
# and the old address is deleted. Requests after the change must reach the
# new address; at most the few in flight at the change may be lost (each
# loop: at most kMaxLost, the number is reported).
source "$(dirname "$0")/lib.sh"

ALIAS4=169.254.1.2
ALIAS6=fd01::2       # outside the guest's fd00::/64 (slirp layout)
TCP_PORT=8090
UDP_PORT=8091
MAX_LOST=3           # per loop (UDP and TCP of one family, or one ping)

world_up
host_uplink_up
# Deleting the first address of a subnet keeps the other ones of it.
sysctl -qw net.ipv4.conf.veth-h.promote_secondaries=1

# own_servers ADDR4 ADDR6: TCP (WHO) and UDP (WHO) servers bound to the two
# addresses only; their pids in OWN_PIDS.
own_servers() {
  OWN_PIDS=()
  local a
  for a in "$1" "$2"; do
    "$PY" "$SERVERS" tcp-server "$a" "$TCP_PORT" &
    OWN_PIDS+=("$!")
    PIDS+=("$!")
    "$PY" "$SERVERS" udp-echo "$a" "$UDP_PORT" &
    OWN_PIDS+=("$!")
    PIDS+=("$!")
  done
  for ((i = 0; i < 100; i++)); do
    (($(ss -Hltun "( sport = :$TCP_PORT or sport = :$UDP_PORT )" | grep -cE "$1|\[?$2\]?") == 4)) && return 0
    sleep 0.05
  done
  fail "the servers on $1 / $2 did not start: $(ss -Hltun)"
}

# reach ALIAS OWN: TCP, UDP and ping from the container to ALIAS are
# answered (by the servers on OWN, which saw OWN as the client), and the
# echo replies come from ALIAS.
reach() {
  local alias=$1 own=$2 out
  out=$(in_ctr "$PY" "$SERVERS" tcp-client "$alias" "$TCP_PORT" who) || fail "TCP to $alias: $out"
  [[ "$out" == "$own "* ]] || fail "TCP to $alias: the server saw '$out' (expected $own)"
  out=$(in_ctr "$PY" "$SERVERS" udp-client "$alias" "$UDP_PORT" WHO) || fail "UDP to $alias: $out"
  [[ "$out" == "$own "* ]] || fail "UDP to $alias: the server saw '$out' (expected $own)"
  out=$(in_ctr ping -c 1 -W 3 "$alias" 2>&1) || fail "ping $alias: $out"
  grep -q "bytes from $alias: icmp_seq=1" <<<"$out" || fail "ping $alias: the reply did not come from it: $out"
}

# The loop that runs across the change: every 50 ms a UDP request on one
# connected socket (WHO: the reply names the client the server saw) and a
# short TCP connection (WHO), each with a deadline; one line per request:
# "TIME udp|tcp ok CLIENT" or "TIME udp|tcp lost REASON". Ends when STOP
# exists, or after 1200 rounds.
cat >"$T/loop.py" <<'PY'
import errno, os, socket, sys, time
alias, tcp_port, udp_port, stop, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
fam = socket.AF_INET6 if ":" in alias else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM)
u.connect((alias, udp_port))
log = open(out, "a", buffering=1)
def why(e):  # a timeout, a socket error, or an answer cut short (the old server went away)
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, OSError):
        return errno.errorcode.get(e.errno, str(e.errno))
    return "no-answer"
for _ in range(1200):
    if os.path.exists(stop):
        break
    u.setblocking(False)
    try:
        while True:
            u.recv(256)  # a late answer to a request already counted as lost
    except OSError:
        pass
    u.settimeout(0.5)
    t = time.time()
    try:
        u.send(b"WHO")
        log.write(f"{t:.3f} udp ok {u.recv(256).decode().split()[0]}\n")
    except (OSError, IndexError, UnicodeDecodeError) as e:
        log.write(f"{t:.3f} udp lost {why(e)}\n")
    t = time.time()
    try:
        with socket.create_connection((alias, tcp_port), timeout=1.0) as s:
            s.sendall(b"WHO\n")
            log.write(f"{t:.3f} tcp ok {s.makefile().readline().split()[0]}\n")
    except (OSError, IndexError, UnicodeDecodeError) as e:
        log.write(f"{t:.3f} tcp lost {why(e)}\n")
    time.sleep(0.05)
PY

# oks FILE: how many requests of the loop have been answered so far.
oks() {
  local n
  n=$(grep -c " ok " "$1" 2>/dev/null) || true
  echo "${n:-0}"
}

# renumber WHAT OLD4 OLD6 NEW4 NEW6: the fault. Loops to both aliases and a
# ping to each run while the host moves from OLD to NEW; then the checks
# above the loops' records (see the top of the file).
renumber() {
  local what=$1 old4=$2 old6=$3 new4=$4 new6=$5
  local stop="$T/stop.$what" l4="$T/loop4.$what" l6="$T/loop6.$what" p4="$T/ping4.$what" p6="$T/ping6.$what"
  rm -f "$stop"
  in_ctr_bg "$PY" "$T/loop.py" "$ALIAS4" "$TCP_PORT" "$UDP_PORT" "$stop" "$l4"
  local loop4=$BG_PID
  in_ctr_bg "$PY" "$T/loop.py" "$ALIAS6" "$TCP_PORT" "$UDP_PORT" "$stop" "$l6"
  local loop6=$BG_PID
  # One echo identifier each, so netd keeps one ping flow across the change.
  nsenter --preserve-credentials --user="/proc/$CTR/ns/user" --net="/proc/$CTR/ns/net" -- \
    ping -i 0.2 -c 60 -W 1 "$ALIAS4" >"$p4" 2>&1 &
  local ping4=$!
  PIDS+=("$ping4")
  nsenter --preserve-credentials --user="/proc/$CTR/ns/user" --net="/proc/$CTR/ns/net" -- \
    ping -i 0.2 -c 60 -W 1 "$ALIAS6" >"$p6" 2>&1 &
  local ping6=$!
  PIDS+=("$ping6")
  for ((i = 0; i < 100; i++)); do
    (($(oks "$l4") >= 40 && $(oks "$l6") >= 40)) && break
    sleep 0.1
  done
  (($(oks "$l4") >= 40 && $(oks "$l6") >= 40)) || fail "$what: the loops do not run: $(tail -n3 "$l4" "$l6")"

  local old_servers=("${OWN_PIDS[@]}")
  ip addr add "$new4/24" dev veth-h
  ip addr add "$new6/64" dev veth-h nodad
  own_servers "$new4" "$new6"
  local change
  change=$(date +%s.%N)
  ip addr del "$old4/24" dev veth-h
  ip addr del "$old6/64" dev veth-h
  kill "${old_servers[@]}"
  # Routes the test world needs (the default routes point at the world).
  ip route replace default via 198.51.100.10
  ip -6 route replace default via 2001:db8::10

  local n4 n6
  n4=$(oks "$l4")
  n6=$(oks "$l6")
  sleep 4  # (the checks below want answers from 2 s after the change on)
  for ((i = 0; i < 100; i++)); do
    (($(oks "$l4") >= n4 + 40 && $(oks "$l6") >= n6 + 40)) && break
    sleep 0.1
  done
  touch "$stop"
  wait_exit "$loop4" 5 || fail "$what: the IPv4 loop did not stop"
  wait_exit "$loop6" 5 || fail "$what: the IPv6 loop did not stop"
  wait_exit "$ping4" 15 || fail "$what: ping $ALIAS4 did not end"
  wait_exit "$ping6" 15 || fail "$what: ping $ALIAS6 did not end"

  local f old new lost_total=0 report=""
  for f in "$l4" "$l6"; do
    if [[ $f == "$l4" ]]; then old=$old4 new=$new4; else old=$old6 new=$new6; fi
    # Every answer before the change from the old address, after it from
    # the new one, after a first answer from the new one never the old one
    # again, and no loss later than 2 s after the change (all of these
    # would fail if the alias stuck to the old address); at most MAX_LOST
    # lost in all.
    local verdict
    verdict=$(awk -v change="$change" -v old="$old" -v new="$new" -v max="$MAX_LOST" '
      $3 == "ok" && $1 < change && $4 != old { bad = bad "; " $0 " (before the change, not " old ")" }
      $3 == "ok" && $4 == new { moved[$2] = 1 }
      $3 == "ok" && $4 != new && moved[$2] { bad = bad "; " $0 " (after " new " answered)" }
      $3 == "ok" && $1 >= change + 2 && $4 != new { bad = bad "; " $0 " (not " new ")" }
      $3 == "lost" { lost++; if ($1 >= change + 2) bad = bad "; " $0 " (lost long after the change)" }
      $3 == "ok" && $1 >= change + 2 { after[$2]++ }
      END {
        if (lost > max) bad = bad "; " lost " lost (more than " max ")"
        if (after["udp"] < 20 || after["tcp"] < 20) bad = bad "; too few answers after the change (udp " after["udp"] ", tcp " after["tcp"] ")"
        print (bad == "" ? "ok " : "bad ") lost + 0 " " bad
      }' "$f")
    [[ $verdict == ok* ]] || fail "$what: loop to the alias ($old -> $new): ${verdict#bad }"
    local lost total
    lost=$(cut -d' ' -f2 <<<"$verdict")
    total=$(wc -l <"$f")
    lost_total=$((lost_total + lost))
    report+=" $(basename "$f"): $lost of $total lost;"
  done
  for f in "$p4" "$p6"; do
    local sent got
    read -r sent got < <(sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) (packets )?received.*/\1 \2/p' "$f")
    [[ -n "$sent" && -n "$got" ]] || fail "$what: no ping summary: $(cat "$f")"
    ((sent - got <= MAX_LOST)) || fail "$what: ping lost $((sent - got)) of $sent across the change: $(tail -n 5 "$f")"
    # The last echo replies came back (from the alias) after the change.
    local alias=$ALIAS4 last
    [[ $f == "$p6" ]] && alias=$ALIAS6
    last=$(tail -n 12 "$f")
    grep -q "bytes from $alias: icmp_seq=" <<<"$last" || fail "$what: no echo reply at the end: $last"
    report+=" $(basename "$f"): $((sent - got)) of $sent lost;"
  done
  ok "$what: renumbered $old4 -> $new4, $old6 -> $new6 under traffic;$report"
  RENUMBER_REPORT+="$what:$report "
}
RENUMBER_REPORT=""

# --- netd attach: refusals ------------------------------------------------------
container_up
refused() {  # refused EXPECTED-MESSAGE ARGS...: netd attach ARGS exits 2 saying so
  local want=$1 rc=0
  shift
  timeout 10 "$NETD_BIN" attach "$@" "$CTR" >"$T/err" 2>&1 || rc=$?
  [[ $rc -eq 2 ]] || fail "attach $*: exit $rc (expected 2): $(cat "$T/err")"
  grep -qF -- "$want" "$T/err" || fail "attach $*: message: $(cat "$T/err")"
}
refused "10.0.2.100 is the guest's own address" --map-guest-addr 10.0.2.100
refused "10.0.2.2 is the gateway's address" --map-guest-addr 10.0.2.2
refused "10.0.2.3 is the DNS address" --map-guest-addr 10.0.2.3
refused "10.0.2.50 lies in the guest's subnet" --map-guest-addr 10.0.2.50
refused "127.0.0.1 is not a unicast address" --map-guest-addr 127.0.0.1
refused "224.0.0.5 is not a unicast address" --map-guest-addr 224.0.0.5
refused "fd00::2 is the gateway's address" --map-guest-addr fd00::2
refused "fd00::3 is the DNS address" --map-guest-addr fd00::3
refused "::1 is not a unicast address" --map-guest-addr ::1
refused "fe80::7 is link-local" --map-guest-addr fe80::7
refused "not an IP address" --map-guest-addr host.example
refused "given twice for one family" --map-guest-addr 169.254.1.2 --map-guest-addr 169.254.1.3
refused "IPv6 is off" --disable-ipv6 --map-guest-addr fd01::2
ok "refused: the guest's, gateway's and DNS addresses, the guest's subnet, loopback, multicast, link-local, junk, twice"
# The outbound interface is the loopback: the alias would lead there.
rc=0
timeout 10 "$NETD_BIN" attach --outbound-addr lo --map-guest-addr "$ALIAS4" "$CTR" >"$T/err" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "attach --outbound-addr lo --map-guest-addr: exit $rc: $(cat "$T/err")"
grep -qF -- "--map-guest-addr $ALIAS4: 127.0.0.1 (lo) is a loopback address" "$T/err" || fail "message: $(cat "$T/err")"
ok "an outbound interface whose address is loopback is refused: $(cat "$T/err")"

# --- netd attach ----------------------------------------------------------------
own_servers 198.51.100.1 2001:db8::1
netd_attach --configure --dns-upstream 198.51.100.10 --map-guest-addr "$ALIAS4" --map-guest-addr "$ALIAS6"
grep -q -- "--map-guest-addr $ALIAS4 leads to the host's address 198.51.100.1 (veth-h, followed)" "$NETD_LOG" ||
  fail "no start-up line for $ALIAS4: $(grep_or_none map-guest "$NETD_LOG")"
wait_slaac >/dev/null
reach "$ALIAS4" 198.51.100.1
reach "$ALIAS6" 2001:db8::1
ok "attach: TCP, UDP and ping to $ALIAS4 and $ALIAS6 reach the host's own 198.51.100.1 / 2001:db8::1"
renumber attach 198.51.100.1 2001:db8::1 198.51.100.5 2001:db8::5
grep -q "new IPv4 address 198.51.100.5: new flows to --map-guest-addr go to it" "$NETD_LOG" ||
  fail "attach: no log line for the move"
reach "$ALIAS4" 198.51.100.5
reach "$ALIAS6" 2001:db8::5
kill "$NETD_PID"
wait_exit "$NETD_PID" 5 || fail "netd attach did not stop"
kill "$CTR"

# --- netd pasta -----------------------------------------------------------------
# The container copies the host's address as it is now (198.51.100.5,
# 2001:db8::5) and keeps it; the alias follows the host back to .1 / ::1.
run=()
[[ "$NETD_HARNESS_OUTER_UID" != 0 ]] && run=(setpriv --bounding-set=-all --inh-caps=-all)
mkdir -p "$T/bin"
ln -s "$NETD_BIN" "$T/bin/pasta"
container_up
touch "$T/netns"
mount --bind "/proc/$CTR/ns/net" "$T/netns"
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta.pid" -l "$NETD_LOG" -t none -u none \
  -T none -U none --no-map-gw --netns "$T/netns" --map-guest-addr "$ALIAS4" --map-guest-addr "$ALIAS6" 2>&1) ||
  fail "pasta failed: $out"
NETD_PID=$(cat "$T/pasta.pid")
PIDS+=("$NETD_PID")
addrs=$(in_ctr ip -o addr show dev veth-h)
grep -q "inet 198.51.100.5/24" <<<"$addrs" || fail "pasta: the container did not copy 198.51.100.5: $addrs"
grep -q "inet6 2001:db8::5/64" <<<"$addrs" || fail "pasta: the container did not copy 2001:db8::5: $addrs"
reach "$ALIAS4" 198.51.100.5
reach "$ALIAS6" 2001:db8::5
ok "pasta: TCP, UDP and ping to $ALIAS4 and $ALIAS6 reach the host's own 198.51.100.5 / 2001:db8::5"
renumber pasta 198.51.100.5 2001:db8::5 198.51.100.1 2001:db8::1
reach "$ALIAS4" 198.51.100.1
reach "$ALIAS6" 2001:db8::1
log "lost across the renumbering: $RENUMBER_REPORT"
pass
