#!/usr/bin/env bash
# netd pasta: pasta's process contract and address model, without Podman.
# The host namespace copies what a real host has: an uplink (veth-h,
# 198.51.100.1/24 and 2001:db8::1/64) with default routes via the world host
# 198.51.100.10 / 2001:db8::10. The container wears the host's address and
# gateway; --no-map-gw leaves the gateway a real host (the world), --map-gw
# maps it to the host's loopback; --map-guest-addr reaches the host's own
# address; --dns-forward is answered by netd's forwarder (upstream: the
# world's DNS server via resolv.conf). The parent exits 0 only once the
# namespace is configured, writes no output after it, and the daemon exits
# when the namespace file is deleted. Last, netd's own --queues: parallel
# streams over a two-queue tap.
source "$(dirname "$0")/lib.sh"
need_tools dig

world_up
host_uplink_up
printf 'nameserver 198.51.100.10\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
world_server tcp-server 8080
world_server udp-echo 7
world_server dns 53
host_server tcp-server 8081
host_server tcp-server 8082 198.51.100.1

run=()
[[ "$NETD_HARNESS_OUTER_UID" != 0 ]] && run=(setpriv --bounding-set=-all --inh-caps=-all)
mkdir -p "$T/bin"
ln -s "$NETD_BIN" "$T/bin/pasta"

# A container whose namespace is a bind-mounted file, as Podman makes it.
container_up
touch "$T/netns"
mount --bind "/proc/$CTR/ns/net" "$T/netns"

# --- errors and information, like pasta's --------------------------------------
rc=0
out=$("$T/bin/pasta" --no-such-option 2>&1) || rc=$?
[[ $rc -eq 1 ]] || fail "unknown option: exit $rc"
grep -q "unrecognized option '--no-such-option'" <<<"$out" || fail "unknown option message: $out"
grep -q "^pasta " <<<"$("$T/bin/pasta" --version)" || fail "--version"
grep -q -- "--map-guest-addr" <<<"$("$T/bin/pasta" --help)" || fail "--help lacks --map-guest-addr"
rc=0
out=$("$T/bin/pasta" --config-net --mtu 70000 --netns "$T/netns" 2>&1) || rc=$?
[[ $rc -eq 1 ]] && grep -q "Invalid MTU" <<<"$out" || fail "bad MTU: exit $rc: $out"
ok "errors, --version and --help"

# --- the Podman 5 command line ------------------------------------------------
# $(...) returns only when every holder of the pipe is gone: the daemon must
# have let go of stdout/stderr once ready.
start=$(date +%s%N)
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta.pid" --dns-forward 169.254.1.1 \
  -t none -u none -T none -U none --no-map-gw --quiet --netns "$T/netns" --map-guest-addr 169.254.1.2 2>&1) ||
  fail "pasta failed: $out"
ms=$((($(date +%s%N) - start) / 1000000))
[[ -z "$(without_loop_note "$out")" ]] || fail "pasta printed with --quiet: $out"
PASTA_PID=$(cat "$T/pasta.pid")
PIDS+=("$PASTA_PID")
kill -0 "$PASTA_PID" || fail "the daemon in the pid file is not running"
ok "pasta returned after ${ms} ms with the namespace ready; daemon pid $PASTA_PID"
assert_confined "$PASTA_PID" "netd pasta"

# Configured before the parent returned (no waiting here).
addrs4=$(in_ctr ip -o -4 addr show dev veth-h)
routes4=$(in_ctr ip -4 route)
addrs6=$(in_ctr ip -o -6 addr show dev veth-h)
routes6=$(in_ctr ip -6 route)
link=$(in_ctr ip -o link show veth-h)
grep -q "inet 198.51.100.1/24" <<<"$addrs4" || fail "IPv4 address not copied: $addrs4"
grep -q "default via 198.51.100.10 dev veth-h" <<<"$routes4" || fail "IPv4 route: $routes4"
grep -q "inet6 2001:db8::1/64" <<<"$addrs6" || fail "IPv6 address not copied: $addrs6"
grep -q "default via 2001:db8::10 dev veth-h" <<<"$routes6" || fail "IPv6 route: $routes6"
grep -q "mtu 65520" <<<"$link" || fail "MTU: $link"
ok "the namespace copies the host's interface name, addresses and routes; MTU 65520"

out=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 echo via-gateway) || fail "TCP to the gateway: $out"
out=$(in_ctr "$PY" "$SERVERS" udp-client 198.51.100.10 7 hello) || fail "UDP to the world: $out"
[[ "$out" == hello ]] || fail "UDP echo: $out"
in_ctr ping -c 1 -W 2 198.51.100.10 >/dev/null || fail "ping the gateway"
out=$(in_ctr "$PY" "$SERVERS" tcp-client 2001:db8::10 8080 echo v6) && fail "nothing listens on [2001:db8::10]:8080, yet: $out"
ok "--no-map-gw: the gateway is the real world host (TCP, UDP, ping)"

who=$(in_ctr "$PY" "$SERVERS" tcp-client 169.254.1.2 8082 who) || fail "TCP to --map-guest-addr: $who"
[[ "$who" == 198.51.100.1\ * ]] || fail "the host's own address was reached from '$who'"
ok "--map-guest-addr 169.254.1.2 reaches the host's own address ($who)"

ans=$(in_ctr dig +short +tries=1 +time=3 @169.254.1.1 host.test A) || fail "dig via --dns-forward"
[[ "$ans" == "192.0.2.55" ]] || fail "DNS answer was '$ans'"
ans=$(in_ctr dig +tcp +short +tries=1 +time=3 @169.254.1.1 tcp.test A) || fail "dig +tcp via --dns-forward"
[[ "$ans" == "192.0.2.55" ]] || fail "DNS over TCP answer was '$ans'"
ok "--dns-forward 169.254.1.1: UDP and TCP answered through netd's forwarder"

rc=0
in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8081 echo x >/dev/null 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "the world's port 8081 is closed: expected refused, rc=$rc: $out"
ok "host loopback is not reachable under --no-map-gw"

umount "$T/netns"
rm -f "$T/netns"
wait_exit "$PASTA_PID" 5 || fail "the daemon still runs after its namespace file was deleted"
ok "the daemon exits when the namespace file is deleted"

# --- --map-gw, forwarded ports, auto, pesto ------------------------------------
kill "$CTR"
container_up
touch "$T/netns2"
mount --bind "/proc/$CTR/ns/net" "$T/netns2"
in_ctr_bg "$PY" "$SERVERS" tcp-server 0.0.0.0 80
in_ctr_bg "$PY" "$SERVERS" udp-echo 0.0.0.0 5353
wait_listening 80 in_ctr
wait_listening 5353 in_ctr
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta2.pid" -q -c "$T/pesto.sock" \
  -t 127.0.0.1/18080:80 -t 18090-18091:80-81 -u 15353:5353 -t 9000-9100,auto -T none -U none --netns "$T/netns2" 2>&1) ||
  fail "pasta (map-gw, ports) failed: $out"
PASTA_PID=$(cat "$T/pasta2.pid")
PIDS+=("$PASTA_PID")
who=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8081 who) || fail "TCP to the gateway (host loopback): $who"
[[ "$who" == 127.0.0.1\ * ]] || fail "the host loopback server saw '$who'"
ok "--map-gw (the default): the gateway reaches the host's 127.0.0.1"

who=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18080 who) || fail "-t 127.0.0.1/18080:80 from the host: $who"
[[ "$who" == 198.51.100.10\ * ]] || fail "a host-loopback client appeared as '$who' (expected the gateway, its alias)"
who=$(in_world "$PY" "$SERVERS" tcp-client 198.51.100.1 18090 who) || fail "-t 18090:80 from the world: $who"
[[ "$who" == 198.51.100.10\ * ]] || fail "the world client appeared as '$who'"
rc=0
out=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18091 echo x 2>&1) || rc=$?
[[ $rc -eq 1 && "$out" == *Connection* ]] || fail "18091 -> 81 (nothing listens): expected a reset, rc=$rc: $out"
out=$("$PY" "$SERVERS" udp-client 127.0.0.1 15353 over-udp) || fail "-u 15353:5353: $out"
[[ "$out" == over-udp ]] || fail "UDP through -u returned '$out'"
ok "-t/-u: TCP and UDP into the namespace, clients keep their addresses (loopback appears as the gateway)"

in_ctr_bg "$PY" "$SERVERS" tcp-server 0.0.0.0 9090
wait_listening 9090 in_ctr
found=0
for ((i = 0; i < 40; i++)); do
  if "$PY" "$SERVERS" tcp-client 127.0.0.1 9090 echo auto >/dev/null 2>&1; then found=1; break; fi
  sleep 0.1
done
[[ $found -eq 1 ]] || fail "-t auto: port 9090 bound in the namespace was not forwarded within 4 s"
kill "$BG_PID"
gone_ok=0
for ((i = 0; i < 40; i++)); do
  if ! ss -Hltn "sport = :9090" | grep -q .; then gone_ok=1; break; fi
  sleep 0.1
done
[[ $gone_ok -eq 1 ]] || fail "-t auto: the host still listens on 9090 after the namespace stopped"
ok "-t 9000-9100,auto: a port bound in the namespace is forwarded within a second, and released after"

"$T/bin/pasta" --version >/dev/null
ln -s "$NETD_BIN" "$T/bin/pesto"
shown=$("$T/bin/pesto" -s "$T/pesto.sock" 2>&1) || fail "pesto --show: $shown"
grep -q 18080 <<<"$shown" || fail "pesto --show lacks the -t rule: $shown"
out=$("$T/bin/pesto" --add -t 18100:80 "$T/pesto.sock" 2>&1) || fail "pesto --add: $out"
who=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18100 who) || fail "a port pesto added: $who"
out=$("$T/bin/pesto" --delete -t 18100:80 "$T/pesto.sock" 2>&1) || fail "pesto --delete: $out"
rc=0
"$PY" "$SERVERS" tcp-client 127.0.0.1 18100 echo x >/dev/null 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "a port pesto deleted still answers (rc=$rc)"
ok "pesto adds and deletes ports at run time (-c)"

unshare --user --map-root-user --net sleep 1000 &
OTHER=$!
PIDS+=("$OTHER")
wait_ns "$OTHER" net || fail "third namespace"
rc=0
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net -q -t 18080 "$OTHER" 2>&1) || rc=$?
[[ $rc -eq 1 ]] && grep -qi "in use" <<<"$out" || fail "a port in use: exit $rc: $out"
ok "a port in use fails start-up with exit 1: $out"
kill -TERM "$PASTA_PID"
wait_exit "$PASTA_PID" 5 || fail "the daemon ignores SIGTERM"
ok "SIGTERM ends the daemon"

# --- -T/-U: the namespace's loopback ports reach the host's loopback ------------
# Servers on the host's loopback only; clients inside the container connect
# to its own 127.0.0.1 / ::1 and must reach them (P, and P2:P mapped).
host_server tcp-server 8083 ::1
host_server udp-echo 17007
kill "$CTR"
container_up
touch "$T/netns3"
mount --bind "/proc/$CTR/ns/net" "$T/netns3"
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta3.pid" -q -t none -u none \
  -c "$T/pesto3.sock" -T 8081,8083 -T 18181:8081 -U 17007 -U 17107:17007 --netns "$T/netns3" 2>&1) ||
  fail "pasta -T/-U failed: $out"
PASTA_PID=$(cat "$T/pasta3.pid")
PIDS+=("$PASTA_PID")
out=$(in_ctr "$PY" "$SERVERS" tcp-client 127.0.0.1 8081 echo outbound) || fail "-T 8081 from the namespace: $out"
[[ "$out" == "ok outbound" ]] || fail "-T 8081 returned '$out'"
who=$(in_ctr "$PY" "$SERVERS" tcp-client 127.0.0.1 18181 who) || fail "-T 18181:8081: $who"
[[ "$who" == 127.0.0.1\ * ]] || fail "-T 18181:8081: the host server saw '$who'"
out=$(in_ctr "$PY" "$SERVERS" tcp-client ::1 8083 echo six) || fail "-T 8083 over ::1: $out"
[[ "$out" == "ok six" ]] || fail "-T 8083 over ::1 returned '$out'"
out=$(in_ctr "$PY" "$SERVERS" tcp-client 127.0.0.1 8084 echo x 2>&1) && fail "-T: port 8084, not forwarded, answered: $out"
for port in 17007 17107; do
  out=$(in_ctr "$PY" "$SERVERS" udp-client 127.0.0.1 "$port" "over-U-$port") || fail "-U $port: $out"
  [[ "$out" == "over-U-$port" ]] || fail "UDP through -U $port returned '$out'"
done
ok "-T/-U: namespace loopback ports (8081, [::1]:8083, 18181:8081, UDP 17007, 17107:17007) reach the host's loopback"
shown=$("$T/bin/pesto" -s "$T/pesto3.sock" 2>&1) || fail "pesto --show with -T: $shown"
grep -q 18181 <<<"$shown" || fail "pesto --show lacks the -T rule: $shown"
out=$("$T/bin/pesto" --add -t 18200:80 "$T/pesto3.sock" 2>&1) || fail "pesto --add -t beside -T rules: $out"
# The server answers nothing (the protocol has no reply): a refused update
# shows as unchanged tables.
out=$("$T/bin/pesto" --add -T 9999 "$T/pesto3.sock" 2>&1) || fail "pesto --add -T: the client failed: $out"
shown=$("$T/bin/pesto" -s "$T/pesto3.sock" 2>&1) || fail "pesto --show after the updates: $shown"
grep -q 18200 <<<"$shown" || fail "pesto --add -t beside -T rules did not apply: $shown"
grep -q 9999 <<<"$shown" && fail "pesto --add -T was applied: $shown"
out=$(in_ctr "$PY" "$SERVERS" tcp-client 127.0.0.1 8081 echo still) || fail "-T 8081 after pesto: $out"
[[ "$out" == "ok still" ]] || fail "-T 8081 after pesto returned '$out'"
ok "pesto beside -T/-U: -t changes apply, -T changes are refused, -T keeps working"
kill -TERM "$PASTA_PID"
wait_exit "$PASTA_PID" 5 || fail "the daemon with -T/-U ignores SIGTERM"
rc=0
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net -q -T all --netns "$T/netns3" 2>&1) || rc=$?
[[ $rc -eq 1 ]] && grep -q "named ports" <<<"$out" || fail "-T all: exit $rc: $out"
ok "-T/-U: SIGTERM ends the daemon (the forwarder thread stops); -T all is refused: $out"

# --- --queues (netd's own): a multi-queue tap behind pasta's command line -------
# 16 streams the guest starts (8 each way to the host's loopback through the
# gateway) spread over both queues by the kernel's flow hash; 4 more come in
# through a -t port (queue 0's). Every byte is hashed; at SIGTERM each queue
# logs what it carried, and both must have carried frames.
rc=0
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net -q --queues 2 --pcap "$T/mq.pcap" --netns "$T/netns3" 2>&1) || rc=$?
[[ $rc -eq 1 ]] && grep -q "one queue" <<<"$out" || fail "--pcap with --queues 2: exit $rc: $out"
kill "$CTR"
container_up
touch "$T/netns4"
mount --bind "/proc/$CTR/ns/net" "$T/netns4"
in_ctr_bg "$PY" "$SERVERS" tcp-server 0.0.0.0 80
wait_listening 80 in_ctr
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta4.pid" --queues 2 -l "$T/pasta4.log" \
  -t 18480:80 -u none -T none -U none --netns "$T/netns4" 2>&1) || fail "pasta --queues 2 failed: $out"
PASTA_PID=$(cat "$T/pasta4.pid")
PIDS+=("$PASTA_PID")
mq=()
for ((i = 0; i < 8; i++)); do
  dir=upload
  ((i % 2)) && dir=download
  in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8081 "$dir" 4000000 >"$T/mq-g$i.out" 2>&1 &
  mq+=($!)
  in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8081 "$dir" 4000000 >"$T/mq-h$i.out" 2>&1 &
  mq+=($!)
done
for ((i = 0; i < 4; i++)); do
  dir=upload
  ((i % 2)) && dir=download
  "$PY" "$SERVERS" tcp-client 127.0.0.1 18480 "$dir" 4000000 >"$T/mq-p$i.out" 2>&1 &
  mq+=($!)
done
rc=0
for p in "${mq[@]}"; do wait "$p" || rc=1; done
for f in "$T"/mq-*.out; do grep -q '^ok' "$f" || fail "--queues 2: $(basename "$f"): $(cat "$f")"; done
[[ $rc -eq 0 ]] || fail "--queues 2: a client failed"
kill -TERM "$PASTA_PID"
wait_exit "$PASTA_PID" 5 || fail "pasta --queues 2 ignores SIGTERM"
grep -q "2 tap queues, one thread each" "$T/pasta4.log" || fail "pasta --queues 2 did not log its queues: $(tail -n 5 "$T/pasta4.log")"
every_queue_carried "pasta --queues 2" "$T/pasta4.log" 2
ok "--queues 2: 20 TCP streams of 4 MB, every byte hashed; $QUEUE_LINES --pcap with it is refused"

# --- COMMAND mode: new namespaces, the command's exit status ----------------------
# Without setpriv: making a user namespace inside this one needs the
# capabilities a new user namespace grants, which an emptied bounding set
# takes away (a real user's shell keeps the full bounding set).
rc=0
out=$(timeout 30 "$T/bin/pasta" --config-net -q -- sh -c \
  'ip -o -4 addr show; ping -c1 -W2 198.51.100.10 >/dev/null && echo PING-OK; exit 7' 2>&1) || rc=$?
[[ $rc -eq 7 ]] || fail "COMMAND mode: exit $rc (want the command's 7): $out"
grep -q "inet 198.51.100.1/24" <<<"$out" || fail "COMMAND mode: the namespace lacks the copied address: $out"
grep -q PING-OK <<<"$out" || fail "COMMAND mode: no ping to the gateway: $out"
rc=0
out=$(timeout 30 "$T/bin/pasta" -q /nonexistent/command 2>&1) || rc=$?
[[ $rc -eq 127 ]] || fail "COMMAND mode with a missing command: exit $rc: $out"
ok "COMMAND mode: the command runs in connected new namespaces and its status is pasta's"

# --- a failure before readiness is the parent's exit status --------------------
rc=0
out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net -q --netns "$T/no-such-netns" 2>&1) || rc=$?
[[ $rc -eq 1 && -n "$out" ]] || fail "a missing namespace: exit $rc, '$out'"
ok "a namespace that does not exist: exit 1 with '$out'"
pass
