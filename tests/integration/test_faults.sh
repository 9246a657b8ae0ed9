#!/usr/bin/env bash
# Faults during transfers, each bounded, with what netd did (the "ok:" lines
# are the observations quoted in docs/security.md):
#  - the guest application dies mid-download: its connection is reset, netd
#    closes the host side, nothing leaks (flows and fds back to the baseline);
#  - the host peer resets mid-upload: the guest application gets ECONNRESET;
#  - the container's process (the attach target) dies mid-transfer: exit 0;
#  - SIGTERM mid-transfer (slirp4netns with an API socket): exit 0, API socket
#    removed;
#  - the client holding the exit fd is killed mid-transfer: exit 0, socket gone;
#  - the netns path is deleted mid-transfer: exit 0.
source "$(dirname "$0")/lib.sh"

world_up
world_server tcp-server 8080
BIG=20000000000  # more than any run moves in its few seconds: the fault comes first

# bytes_moving: tcp_bytes_from_host grows (a transfer is under way).
bytes_moving() {
  local a b
  a=$(netd_counter tcp_bytes_from_host)
  sleep 0.3
  b=$(netd_counter tcp_bytes_from_host)
  [[ -n "$a" && -n "$b" && "$b" -gt "$a" ]]
}
download_bg() {
  in_ctr_bg "$PY" "$SERVERS" tcp-client "$@" >/dev/null 2>&1
  CLIENT=$BG_PID
  retry 50 bytes_moving || fail "no transfer under way"
}
fd_count() { ls "/proc/$NETD_PID/fd" | wc -l; }

# --- the guest application dies mid-download --------------------------------
container_up
netd_attach --disable-dns
dhcp_lease
base_fds=$(fd_count)
download_bg 198.51.100.10 8080 download "$BIG"
kill -KILL "$CLIENT"
wait "$CLIENT" 2>/dev/null || true
settled() {
  [[ "$(netd_counter tcp_conns_opened)" == "$(netd_counter tcp_conns_closed)" && "$(fd_count)" -le "$base_fds" ]]
}
retry 100 settled || fail "after the guest app died: opened $(netd_counter tcp_conns_opened) closed \
$(netd_counter tcp_conns_closed), fds $(fd_count) (baseline $base_fds)"
kill -0 "$NETD_PID" || fail "netd died"
ok "guest app killed mid-download: connection closed (rst sent $(netd_counter tcp_rst_sent)), fds back to $base_fds"

# --- the host peer resets mid-upload ----------------------------------------
out=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 upload-reset 3000000) || fail "upload-reset: $out"
retry 100 settled || fail "after the peer reset: flows or fds left"
ok "host peer reset mid-upload: the guest app got ECONNRESET ($out), nothing left open"

# --- the attach target dies mid-transfer --------------------------------------
download_bg 198.51.100.10 8080 download "$BIG"
kill -KILL "$CTR"
wait_exit "$NETD_PID" 10 || fail "netd still runs 10 s after its target died"
[[ $EXIT_RC -eq 0 ]] || fail "exit status $EXIT_RC after the target died"
kill "$CLIENT" 2>/dev/null || true
ok "target process died mid-transfer: netd exited 0"

# --- SIGTERM mid-transfer (slirp4netns, API socket) ---------------------------
container_up
API="$T/api.sock"
netd_slirp4netns -c --disable-dns --enable-sandbox --enable-seccomp --api-socket "$API" "$CTR" tap0
download_bg 198.51.100.10 8080 download "$BIG"
kill -TERM "$NETD_PID"
wait_exit "$NETD_PID" 10 || fail "netd still runs 10 s after SIGTERM"
[[ $EXIT_RC -eq 0 ]] || fail "SIGTERM mid-transfer: exit status $EXIT_RC"
[[ ! -e "$API" ]] || fail "API socket left behind after SIGTERM"
kill "$CLIENT" 2>/dev/null || true
ok "SIGTERM mid-transfer: exit 0, API socket removed"

# --- the exit-fd holder dies mid-transfer -------------------------------------
mkfifo "$T/exitpipe"
sleep 1000 >"$T/exitpipe" &
HOLDER=$!
PIDS+=("$HOLDER")
NETD_EXIT_PIPE="$T/exitpipe" netd_slirp4netns -c --disable-dns --enable-sandbox --enable-seccomp \
  --api-socket "$API" "$CTR" tap0
download_bg 198.51.100.10 8080 download "$BIG"
kill -KILL "$HOLDER"
wait_exit "$NETD_PID" 10 || fail "netd still runs 10 s after the exit fd's holder died"
[[ $EXIT_RC -eq 0 ]] || fail "exit-fd hang-up mid-transfer: exit status $EXIT_RC"
[[ ! -e "$API" ]] || fail "API socket left behind after the exit-fd hang-up"
kill "$CLIENT" 2>/dev/null || true
ok "exit-fd holder killed mid-transfer: exit 0, API socket removed"

# --- the netns path is deleted mid-transfer -----------------------------------
touch "$T/netns"
mount --bind "/proc/$CTR/ns/net" "$T/netns"
netd_slirp4netns -c --disable-dns --enable-sandbox --enable-seccomp --netns-type=path "$T/netns" tap0
download_bg 198.51.100.10 8080 download "$BIG"
umount "$T/netns"
rm -f "$T/netns"
wait_exit "$NETD_PID" 10 || fail "netd still runs 10 s after its netns path was deleted"
[[ $EXIT_RC -eq 0 ]] || fail "netns deleted: exit status $EXIT_RC"
kill "$CLIENT" 2>/dev/null || true
ok "netns path deleted mid-transfer: exit 0"

grep -q "seccomp: blocked" "$NETD_LOG" && fail "a system call was blocked"
pass
