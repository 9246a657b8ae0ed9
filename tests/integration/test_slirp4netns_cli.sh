#!/usr/bin/env bash
# netd as slirp4netns: Podman's exact argument shape against a namespace the
# test made (netd started through a symlink named slirp4netns); the ready
# byte, -c configuring 10.0.2.100, the API socket (add/list/remove for UDP and
# TCP through the tap stack: a host loopback client appears as the gateway, as
# with slirp4netns) from inside the sandbox with the seccomp filter on,
# forwards added and removed while a transfer runs through one of them
# (removing a TCP forward closes its listener, the open connection finishes),
# exit-fd hang-up -> exit 0 and the API socket removed; -h lists every
# option; a bad --cidr fails with 1.
source "$(dirname "$0")/lib.sh"

ln -s "$NETD_BIN" "$T/slirp4netns"
S4N="$T/slirp4netns"
run=()
if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then run=(setpriv --bounding-set=-all --inh-caps=-all); fi

out=$("$S4N" -h) || fail "-h exited non-zero"
for o in --configure --exit-fd --ready-fd --mtu --enable-ipv6 --api-socket --cidr --disable-host-loopback \
  --netns-type --userns-path --enable-sandbox --enable-seccomp --outbound-addr --outbound-addr6 --disable-dns \
  --macaddress --target-type --help --version; do
  grep -q -- "$o" <<<"$out" || fail "-h does not mention $o"
done
ok "-h lists every option (exit 0)"
ver=$("$S4N" -v)
[[ "${ver%%$'\n'*}" == "slirp4netns version "* ]] || fail "-v first line: $ver"
rc=0
"$S4N" --cidr=10.0.2.1/24 1 tap0 >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "not a network address" "$T/err" && grep -q "^Usage:" "$T/err" ||
  fail "--cidr=10.0.2.1/24: rc=$rc $(cat "$T/err")"
rc=0
"$S4N" --target-type=bess 1 tap0 >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "not supported" "$T/err" || fail "--target-type=bess: rc=$rc"
rc=0
"$S4N" --outbound-addr=::1 1 tap0 >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "use --outbound-addr6" "$T/err" && grep -q "^Usage:" "$T/err" ||
  fail "--outbound-addr=::1: rc=$rc $(cat "$T/err")"
ok "bad --cidr and --outbound-addr values and unsupported options exit 1 with the usage"

container_up
mkdir -p "$T/www"
echo "hello from the guest" >"$T/www/index.html"

mkfifo "$T/exitpipe" "$T/ready"
sleep 1000 >"$T/exitpipe" &
WRITER=$!
PIDS+=("$WRITER")
exec {ready_rd}<>"$T/ready"
API="$T/api.sock"
"${run[@]}" "$S4N" --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6 \
  -c -e 3 -r 4 --api-socket "$API" --netns-type=path "/proc/$CTR/ns/net" tap0 \
  3<"$T/exitpipe" 4>"$T/ready" >>"$NETD_LOG" 2>&1 &
NETD_PID=$!
PIDS+=("$NETD_PID")
byte=""
read -r -t 10 -n 1 byte <&"$ready_rd" || true
exec {ready_rd}<&-
[[ "$byte" == "1" ]] || fail "no ready byte (got '$byte')"
[[ -S "$API" ]] || fail "API socket missing after ready"
[[ "$(stat -c %a "$API")" == 600 ]] || fail "API socket mode $(stat -c %a "$API")"
grep -q "IPv6: prefix fd00::/64" "$NETD_LOG" || fail "--enable-ipv6 did not turn IPv6 on"
status=$(cat "/proc/$NETD_PID/status")
grep -q "^NoNewPrivs:[[:space:]]*1" <<<"$status" && grep -q "^Seccomp:[[:space:]]*2" <<<"$status" ||
  fail "--enable-sandbox --enable-seccomp: $(grep -E 'NoNewPrivs|Seccomp' <<<"$status")"
ok "ready byte after start-up; API socket 0600; sandbox and seccomp filter on; IPv6 on"

# (captured first: with pipefail, grep -q closing the pipe early could fail the producer)
addrs=$(in_ctr ip -4 addr show dev tap0)
routes=$(in_ctr ip route)
link=$(in_ctr ip -o link show tap0)
grep -q "inet 10.0.2.100/24" <<<"$addrs" || fail "guest address not configured by -c: $addrs"
grep -q "default via 10.0.2.2" <<<"$routes" || fail "default route missing: $routes"
grep -q "mtu 65520" <<<"$link" || fail "MTU not applied: $link"
in_ctr ping -c 1 -W 2 10.0.2.2 >/dev/null || fail "ping gateway"
ok "-c: 10.0.2.100/24, default route, MTU; gateway answers"
# --enable-ipv6: the guest autoconfigures in fd00::/64 and reaches fd00::2.
wait_slaac >/dev/null
in_ctr ping -6 -c 1 -W 3 fd00::2 >/dev/null || fail "--enable-ipv6: no IPv6 to fd00::2: $(in_ctr ip -6 addr show dev tap0)"
ok "--enable-ipv6: SLAAC address in fd00::/64, fd00::2 answers"

in_ctr "$PY" "$SERVERS" udp-echo 10.0.2.100 5353 &
PIDS+=("$!")
in_ctr "$PY" -m http.server 8080 --bind 10.0.2.100 --directory "$T/www" >/dev/null 2>&1 &
PIDS+=("$!")
in_ctr "$PY" "$SERVERS" tcp-server 10.0.2.100 8081 &
PIDS+=("$!")
ctl() { "$NETD_BIN" ctl --socket "$API" "$1"; }
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_addr":"127.0.0.1","host_port":18053,"guest_addr":"","guest_port":5353}}') ||
  fail "add_hostfwd udp: $out"
[[ "$out" == '{"return":{"id":1}}' ]] || fail "add_hostfwd udp returned $out"
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":18080,"guest_port":8080}}') ||
  fail "add_hostfwd tcp: $out"
[[ "$out" == '{"return":{"id":2}}' ]] || fail "add_hostfwd tcp returned $out"
out=$(ctl '{"execute":"list_hostfwd"}')
grep -q '"id":1,"proto":"udp","host_addr":"127.0.0.1","host_port":18053,"guest_addr":"10.0.2.100","guest_port":5353' <<<"$out" ||
  fail "list_hostfwd: $out"
ok "add_hostfwd (udp, tcp) and list_hostfwd"

for ((i = 0; i < 30; i++)); do
  out=$("$PY" "$SERVERS" udp-client 127.0.0.1 18053 via-api 2>/dev/null) && break
  sleep 0.1
done
[[ "$out" == "via-api" ]] || fail "UDP through the API forward returned '$out'"
out=$("$PY" "$SERVERS" udp-client 127.0.0.1 18053 WHO) || fail "UDP WHO: $out"
[[ "$out" == 10.0.2.2\ * ]] || fail "a loopback client should appear as the gateway (as in slirp4netns), the guest saw '$out'"
ok "UDP through add_hostfwd reaches the guest from the gateway address ($out)"
for ((i = 0; i < 30; i++)); do
  out=$("$PY" -c 'import urllib.request,sys; print(urllib.request.urlopen("http://127.0.0.1:18080/", timeout=3).read().decode().strip())' 2>/dev/null) && break
  sleep 0.2
done
[[ "$out" == "hello from the guest" ]] || fail "TCP through the API forward returned '$out'"
ok "TCP through add_hostfwd reaches the guest"

# Forwards come and go while a transfer runs through one of them; removing
# that one stops new connections only (slirp4netns closes just the listener).
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18081,"guest_port":8081}}')
[[ "$out" == '{"return":{"id":3}}' ]] || fail "add_hostfwd 18081 returned $out"
# (slow: the guest's server stops reading for 2 s first, so the transfer is
# certainly still running while its forward is removed)
"$PY" "$SERVERS" tcp-client 127.0.0.1 18081 slow 100000000 >"$T/upload" 2>&1 &
UPLOAD=$!
PIDS+=("$UPLOAD")
for ((i = 0; i < 50; i++)); do
  out=$(ctl '{"execute":"list_flows"}')
  grep -q '"id":3,"proto":"tcp","client":"127.0.0.1:' <<<"$out" && break
  sleep 0.05
done
# The whole entry, byte for byte: clients parse this shape.
grep -qE '^\{"return":\{"flows":\[(.*,)?\{"id":3,"proto":"tcp","client":"127\.0\.0\.1:[0-9]+","guest_port":8081\}' <<<"$out" ||
  fail "list_flows does not show the transfer: $out"
out=$(ctl '{"execute":"remove_hostfwd","arguments":{"id":3}}')
[[ "$out" == '{"return":{}}' ]] || fail "remove_hostfwd 3 during the transfer returned $out"
kill -0 "$UPLOAD" 2>/dev/null || fail "the transfer ended before its forward was removed: $(cat "$T/upload")"
for ((i = 0; i < 20; i++)); do
  out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_addr":"127.0.0.1","host_port":'$((18100 + i))',"guest_port":5353}}')
  [[ "$out" == '{"return":{"id":'$((4 + i))'}}' ]] || fail "add_hostfwd during the transfer returned $out"
  out=$(ctl '{"execute":"remove_hostfwd","arguments":{"id":'$((4 + i))'}}')
  [[ "$out" == '{"return":{}}' ]] || fail "remove_hostfwd during the transfer returned $out"
done
rc=0
"$PY" "$SERVERS" tcp-client 127.0.0.1 18081 who >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "a removed TCP forward still accepts connections"
wait "$UPLOAD" || fail "the transfer through the removed forward failed: $(cat "$T/upload")"
grep -q "^ok 100000000 bytes" "$T/upload" || fail "transfer: $(cat "$T/upload")"
ok "forward removed and 20 more added and removed during a transfer through it; the removed forward refuses new clients, its transfer completes"

rc=0
out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_addr":"127.0.0.1","host_port":18053,"guest_port":1}}') || rc=$?
[[ $rc -eq 1 ]] && grep -q '"error":{"desc":"bad request: ' <<<"$out" || fail "duplicate add: $out"
rc=0
out=$(ctl '{"execute":"nope"}') || rc=$?
[[ $rc -eq 1 && "$out" == '{"error":{"desc":"bad request: unknown execute \"nope\""}}' ]] || fail "unknown execute: $out"
out=$(ctl '{"execute":"remove_hostfwd","arguments":{"id":1}}') || fail "remove: $out"
[[ "$out" == '{"return":{}}' ]] || fail "remove_hostfwd returned $out"
out=$(ctl '{"execute":"list_hostfwd"}')
grep -q '"id":1' <<<"$out" && fail "id 1 still listed: $out"
grep -q '"id":2' <<<"$out" || fail "id 2 missing: $out"
rc=0
"$PY" "$SERVERS" udp-client 127.0.0.1 18053 gone >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "UDP forward still answers after remove"
out=$(ctl '{"execute":"get_counters"}')
grep -q '"udp_published_in":[1-9]' <<<"$out" || fail "get_counters: $out"
if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then
  # (inside the sandbox /proc is out of reach: the sysctl was read before)
  rc=0
  out=$(ctl '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":80,"guest_port":80}}') || rc=$?
  [[ $rc -ne 0 ]] && grep -q "ip_unprivileged_port_start" <<<"$out" || fail "add_hostfwd port 80: $out"
  kill -0 "$NETD_PID" || fail "netd died on a refused privileged port"
fi
ok "errors, remove_hostfwd, get_counters"

kill "$WRITER"
for ((i = 0; i < 50; i++)); do kill -0 "$NETD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NETD_PID" 2>/dev/null && fail "still running after the exit fd hung up"
rc=0
wait "$NETD_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "exit status $rc after exit-fd hang-up"
[[ ! -e "$API" ]] || fail "API socket left behind"
ok "exit-fd hang-up: exit 0, API socket removed"
pass
