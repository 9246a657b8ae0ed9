#!/usr/bin/env bash
# `netd network connect -p` (issue 6): a host port is carried into the rootless
# netns by its outward engine and DNAT'd there to the container. A client on
# the host's loopback and a client in the world namespace reach a TCP server
# in the container, which sees the client's own address; a UDP port echoes; bulk data arrives intact; the rules
# are in table inet netd; conflicting, internal and malformed -p fail clearly
# and change nothing; disconnect closes the port, removes the forward and the
# rules, and the port can be published again. Runs as root and unprivileged.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bridge_lib.sh"
need_tools nft

world_up
"$NETD" network create pub >/dev/null || fail "create pub"
"$NETD" network create --internal sealed >/dev/null || fail "create sealed"
mkctr; C1=$CTR; mkctr; C2=$CTR
in_c "$C1" ip link set lo up
in_c "$C1" "$PY" "$SERVERS" tcp-server 0.0.0.0 8080 &
PIDS+=("$!")
in_c "$C1" "$PY" "$SERVERS" udp-echo 0.0.0.0 5353 &
PIDS+=("$!")
wait_listening 8080 in_c "$C1"
wait_listening 5353 in_c "$C1"

IP1=$("$NETD" network connect pub --netns "$C1" --name web -p 18080:8080 -p 198.51.100.1:18081:8080 \
  -p 127.0.0.1:15353:5353/udp) || fail "connect with -p"
ok "connect web ($IP1) publishing 18080/tcp, 198.51.100.1:18081/tcp, 127.0.0.1:15353/udp"
"$NETD" network inspect pub | grep -c '"host_port": 18081' >/dev/null || fail "inspect does not show the ports"

# The engine carries a forward through its tap from the client's own address
# (loopback clients appear as the engine's gateway 10.0.2.2), and the DNAT
# keeps it: the container must see that address, not the rootless netns'
# (10.0.2.100, what a connect-from-inside carrier such as rootlessport shows).
check_source() {  # WHAT OUT REAL-CLIENT
  [[ "$2" == "$3 "* ]] || fail "$1: the container saw '$2', not the client's address $3"
  ok "$1: the container sees the client's own address ($2)"
}
out=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18080 who) || fail "host loopback -> published port: $out"
check_source "host loopback client" "$out" 10.0.2.2
out=$(in_world "$PY" "$SERVERS" tcp-client 198.51.100.1 18081 who) || fail "world -> published port: $out"
check_source "world client" "$out" 198.51.100.10
out=$(in_world "$PY" "$SERVERS" tcp-client 198.51.100.1 18080 upload 20000000) || fail "upload: $out"
ok "world -> container through the published port: $out"
# Container -> client bulk data: the container's MSS is 1460 (bridge MTU
# 1500) and the rootless netns may reorder what it forwards to the engine.
out=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18080 download 20000000) || fail "download: $out"
ok "container -> host client through the published port: $out"
out=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18080 echo hello-through-the-bridge) || fail "echo: $out"
ok "host client <-> container echo through the published port: $out"
out=$("$PY" "$SERVERS" udp-client 127.0.0.1 15353 ping-over-udp) || fail "UDP published port: $out"
[[ "$out" == ping-over-udp ]] || fail "UDP echo returned '$out'"
ok "UDP published port echoes"

nft_table >"$T/nft" || fail "nft list failed"
for want in "tcp dport 18080 dnat ip to $IP1:8080" "tcp dport 18081 dnat ip to $IP1:8080" \
  "udp dport 15353 dnat ip to $IP1:5353"; do
  [[ "$(grep -cF "$want" "$T/nft")" == 2 ]] || fail "nft: '$want' not in prerouting and output: $(cat "$T/nft")"
done
ok "DNAT rules in prerouting and output of table inet netd"

log "bad -p changes nothing"
fwds_before=$("$NETD" ctl -s "$NETD_RUNTIME_DIR/attach.sock" '{"execute":"list_hostfwd"}')
if "$NETD" network connect pub --netns "$C2" --name other -p 18080:80 2>"$T/err"; then fail "a taken host port was published twice"; fi
grep -q "already published by web" "$T/err" || fail "conflict message: $(cat "$T/err")"
if "$NETD" network connect sealed --netns "$C2" --name other -p 18090:80 2>"$T/err"; then fail "-p on an internal network"; fi
grep -q "internal" "$T/err" || fail "internal -p message: $(cat "$T/err")"
rc=0
"$NETD" network connect pub --netns "$C2" --name other -p 70000:80 2>"$T/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "70000" "$T/err" || fail "bad spec: rc=$rc $(cat "$T/err")"
# A port the engine cannot bind (held by someone else on the host): refused, and undone.
"$PY" "$SERVERS" tcp-server 127.0.0.1 18095 &
PIDS+=("$!")
wait_listening 18095 env
if "$NETD" network connect pub --netns "$C2" --name other -p 127.0.0.1:18095:80 2>"$T/err"; then
  fail "a host port in use was published"
fi
log "in-use port refused: $(cat "$T/err")"
grep -q '"other"' "$NETD_RUNTIME_DIR/networks/pub.json" && fail "a failed connect was recorded"
if in_c "$C2" ip link show eth0 >/dev/null 2>&1; then fail "a failed connect left eth0 in the container"; fi
[[ "$(rn ip -br link | grep -c '^veth')" == 1 ]] || fail "a failed connect left a veth: $(rn ip -br link)"
[[ "$("$NETD" ctl -s "$NETD_RUNTIME_DIR/attach.sock" '{"execute":"list_hostfwd"}')" == "$fwds_before" ]] ||
  fail "forwards changed: $fwds_before -> $("$NETD" ctl -s "$NETD_RUNTIME_DIR/attach.sock" '{"execute":"list_hostfwd"}')"
ok "conflicting, internal, malformed and unbindable -p fail with a message and leave no trace"

log "disconnect closes the port"
"$NETD" network disconnect pub --name web || fail "disconnect web"
rc=0
"$PY" "$SERVERS" tcp-client 127.0.0.1 18080 who >/dev/null 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "port 18080 still accepts after disconnect (rc=$rc)"
[[ "$("$NETD" ctl -s "$NETD_RUNTIME_DIR/attach.sock" '{"execute":"list_hostfwd"}')" == '{"return":{"entries":[]}}' ]] ||
  fail "forwards left: $("$NETD" ctl -s "$NETD_RUNTIME_DIR/attach.sock" '{"execute":"list_hostfwd"}')"
# (the network has no container left: its table may be gone altogether)
if "$NETD" rootless-netns nft list table inet netd >"$T/nft" 2>"$T/nft.err"; then
  if grep -q "dnat" "$T/nft"; then fail "DNAT rules left: $(cat "$T/nft")"; fi
else
  grep -q "No such file or directory" "$T/nft.err" || fail "nft list table inet netd failed: $(cat "$T/nft.err")"
fi
ok "after disconnect: connection refused, no forward, no DNAT rule"
IP2=$("$NETD" network connect pub --netns "$C1" --name web2 -p 18080:8080) || fail "re-publish 18080"
out=$("$PY" "$SERVERS" tcp-client 127.0.0.1 18080 who) || fail "re-published port: $out"
ok "the port is published again for the reconnected container ($IP2)"
pass
