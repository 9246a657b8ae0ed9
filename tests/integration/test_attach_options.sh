#!/usr/bin/env bash
# netd attach options: a netns *path* target (bind-mounted nsfs file) with an
# explicit --userns, --configure, attaching to a tap that already exists,
# --disable-host-loopback (nothing reaches 127.0.0.1), a clean exit on
# SIGTERM with the pid file removed, and exit when the netns path is removed.
source "$(dirname "$0")/lib.sh"

host_server udp-echo 5007
host_server tcp-server 8081
container_up
# A persistent tap that exists before netd attaches (as RootlessKit does).
in_ctr ip tuntap add dev tap0 mode tap
# The netns as a path, like `ip netns add` or podman's /run/user/.../netns/x.
touch "$T/netns"
mount --bind "/proc/$CTR/ns/net" "$T/netns"

netd_attach_path() {
  local fifo="$T/ready2"
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {rfd}<>"$fifo"
  local run=()
  [[ "$NETD_HARNESS_OUTER_UID" != 0 ]] && run=(setpriv --bounding-set=-all --inh-caps=-all)
  "${run[@]}" "$NETD_BIN" attach --ready-fd 3 --pid-file "$T/netd.pid" --disable-dns "$@" 3>"$fifo" >>"$NETD_LOG" 2>&1 &
  NETD_PID=$!
  PIDS+=("$NETD_PID")
  local byte=""
  read -r -t 10 -n 1 byte <&"$rfd" || true
  exec {rfd}<&-
  [[ "$byte" == "1" ]] || fail "netd attach $* did not become ready"
}

netd_attach_path --configure --disable-host-loopback --userns "/proc/$CTR/ns/user" --netns "$T/netns"
[[ "$(cat "$T/netd.pid")" == "$NETD_PID" ]] || fail "pid file holds '$(cat "$T/netd.pid")', netd is $NETD_PID"
in_ctr ip -o addr show tap0 | grep "inet 10.0.2.100/24" >/dev/null || fail "--configure did not address the existing tap0"
in_ctr ip -o link show tap0 | grep "mtu 65520" >/dev/null || fail "--configure did not set the MTU"
in_ctr ip route | grep "default via 10.0.2.2" >/dev/null || fail "--configure did not add the default route"
ok "attached to an existing tap through a netns path, configured"

in_ctr ping -c 1 -W 2 10.0.2.2 >/dev/null || fail "the gateway itself must still answer ping"
rc=0
out=$(in_ctr "$PY" "$SERVERS" udp-client 10.0.2.2 5007 leak) || rc=$?
[[ $rc -ne 0 && "$out" != "leak" ]] || fail "UDP reached host loopback despite --disable-host-loopback ($out)"
rc=0
out=$(in_ctr "$PY" "$SERVERS" tcp-client 10.0.2.2 8081 echo leak) || rc=$?
[[ $rc -ne 0 ]] || fail "TCP reached host loopback despite --disable-host-loopback ($out)"
ok "--disable-host-loopback: UDP and TCP to the gateway do not reach 127.0.0.1"

kill -TERM "$NETD_PID"
rc=0
wait "$NETD_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit status $rc"
[[ ! -e "$T/netd.pid" ]] || fail "pid file left behind after SIGTERM"
ok "SIGTERM: exit 0, pid file removed"

netd_attach_path --netns "$T/netns"
sleep 0.2
umount "$T/netns"
rm -f "$T/netns"
for ((i = 0; i < 40; i++)); do kill -0 "$NETD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NETD_PID" 2>/dev/null && fail "netd still runs after the netns path was removed"
ok "netd exits when the netns path disappears"

rc=0
"$NETD_BIN" attach --cidr 10.0.2.1/24 "$CTR" 2>"$T/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "not a network address" "$T/err" || fail "bad --cidr: rc=$rc $(cat "$T/err")"
rc=0
"$NETD_BIN" attach /nonexistent/netns 2>"$T/err" || rc=$?
[[ $rc -ne 0 ]] && grep -q "cannot open network namespace" "$T/err" || fail "bad path: rc=$rc $(cat "$T/err")"
ok "bad arguments: clear errors, non-zero exit"
pass
