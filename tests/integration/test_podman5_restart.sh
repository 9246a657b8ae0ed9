#!/usr/bin/env bash
# `podman restart` with published ports never fails (netd as Podman 5's
# pasta), fault-style: the change happens while traffic flows.
#
# A container publishes 127.0.0.1:P:80 (busybox httpd serving a known
# payload). A client on the host connects to the port every 20 ms for the
# whole test (restart_client.py: each connection either gets the payload,
# is refused, or is reset; none may hang or get a wrong answer). Then the
# container is restarted 5 times with `podman restart -t 0` and 3 times
# with `podman stop -t 0` followed at once by `podman start`. Each command
# must succeed; after each the port serves again within 10 s; the old
# pasta (netd) has exited once the command returned, or within 3 s after;
# a new one runs. A restart window runs from the command's start to the
# first good answer after it returned: connections may fail only inside
# one, and the last ones all succeed. Per window the test reports the
# failed connections by kind, the outage (last good answer before to first
# after) and how long nothing listened (refused connections).
#
# Podman starts the new pasta right after the old one's namespace file is
# deleted; the old one exits then, but its port stayed bound for some 60 ms
# more (its ring's pending accept held the listener), so a pasta that binds
# once failed, and the restart with it. netd pasta waits up to 5 s for a
# port in use (portfwd/port_holder.h), and a stopping netd shuts its
# listeners down (tap/published_ports.h). PODMAN5_IMPLS=debian runs the
# same steps with Debian 13's pasta (a comparison, not part of the suite:
# its first restart fails with "Failed to bind port ... Address already in
# use"). Podman 5 runs as in test_podman5.sh
# (tests/integration/podman5_lib.sh).
NETD_HARNESS_SUBIDS=1
source "$(dirname "$0")/lib.sh" || exit 1
source "$(dirname "$0")/bridge_lib.sh" || exit 1  # resolv.conf names the world's DNS server; gone PID
source "$(dirname "$0")/podman5_lib.sh" || exit 1

export NETD_TEST_LIFETIME=230
world_up
world_server dns 53

podman5_setup
podman_image localhost/netd-bb
IMG=localhost/netd-bb
PORT=18480
PAYLOAD=netd-restart-payload
RESTARTS=${RESTART_COUNT:-5}
STOP_STARTS=${STOP_START_COUNT:-3}

# now_ns: the wall clock in ns (the client's clock, time.time_ns()).
now_ns() { date +%s%N; }
# pasta_pid: the one pasta process's pid ("" if none).
pasta_pid() {
  local p
  p=$(podman5_procs pasta)
  [[ $(grep -c . <<<"$p") -le 1 ]] || fail "more than one pasta process: $p"
  echo "${p%% *}"
}
# until_served SINCE_NS: until the client logged a good answer to a
# connection it started after SINCE_NS (10 s); prints that start.
until_served() {
  local i s
  for ((i = 0; i < 100; i++)); do
    s=$(awk -v t="$1" '$1 > t && $3 == "ok" {print $1; exit}' "$T/client.log")
    [[ -n "$s" ]] && { echo "$s"; return 0; }
    sleep 0.1
  done
  return 1
}

# one_change NAME CMD...: runs the podman command(s) while the client runs;
# checks the old pasta's exit and that the port serves again; adds the
# window to $T/windows.
one_change() {
  local name=$1 old new t0 t1 t2 old_state="exited before the command returned"
  shift
  old=$(pasta_pid)
  [[ -n "$old" ]] || fail "$name: no pasta before the change"
  t0=$(now_ns)
  "$@"
  t1=$(now_ns)
  if [[ -d /proc/$old ]] && [[ "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$old/status" 2>/dev/null)" != Z ]]; then
    gone "$old" || gone "$old" || fail "$name: the old pasta ($old) still runs 6 s after the command returned"
    old_state="exited within $((($(now_ns) - t1) / 1000000)) ms after the command returned"
  fi
  new=$(pasta_pid)
  [[ -n "$new" && "$new" != "$old" ]] || fail "$name: no new pasta after the change (old $old, now '$new')"
  t2=$(until_served "$t1") || fail "$name: the port did not serve again within 10 s after the command returned"
  echo "$name $t0 $t2" >>"$T/windows"
  # What the new pasta said about the port (netd: a wait for the old one).
  local said
  said=$(grep -v -x -F -f "$T/pasta-seen.log" "$T/pasta.log" 2>/dev/null | grep -o "$PORT/tcp.*" | tr '\n' ';' || true)
  cp "$T/pasta.log" "$T/pasta-seen.log" 2>/dev/null || true
  log "$name: command took $(((t1 - t0) / 1000000)) ms; served again $(((t2 - t1) / 1000000)) ms after it returned; old pasta $old $old_state; new pasta $new${said:+; it logged: $said}"
}

restart() { pm restart -t 0 web >/dev/null || pm_fail "podman restart ($1)"; }
stop_start() {
  pm stop -t 0 web >/dev/null || pm_fail "podman stop ($1)"
  pm start web >/dev/null || pm_fail "podman start after stop ($1)"
}

for impl in ${PODMAN5_IMPLS:-netd}; do
  podman5_impl "$impl"
  # pasta's log (podman passes --quiet: warnings only, such as netd's
  # "127.0.0.1:P/tcp is in use by pid N (pasta); waiting" and "taken over").
  podman5_conf "\"--log-file\", \"$T/pasta.log\""
  : >"$T/pasta.log"
  : >"$T/pasta-seen.log"
  : >"$T/windows"
  rm -f "$T/stop-client"
  pm run --pull=never -d --name web -p "127.0.0.1:$PORT:80" "$IMG" sh -c \
    "busybox mkdir -p /tmp/w && echo $PAYLOAD >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w" >/dev/null ||
    pm_fail "$impl: podman run -p 127.0.0.1:$PORT:80"
  first=$(pasta_pid)
  [[ -n "$first" ]] || fail "$impl: no pasta for the container"
  if [[ $impl == netd ]]; then
    [[ "$(podman5_procs pasta | cut -d" " -f2)" == "$NETD_IN_ROOT" ]] || fail "$impl: pasta is not netd: $(podman5_procs pasta)"
  fi
  "$PY" "$HERE/restart_client.py" loop "$PORT" "$PAYLOAD" "$T/stop-client" 200 >"$T/client.log" &
  client=$!
  PIDS+=("$client")
  until_served 0 >/dev/null || fail "$impl: the published port never served"
  ok "$impl: 127.0.0.1:$PORT serves $PAYLOAD; a client connects every 20 ms"

  for ((n = 1; n <= RESTARTS; n++)); do
    sleep 0.5
    one_change "restart-$n" restart "$n"
  done
  for ((n = 1; n <= STOP_STARTS; n++)); do
    sleep 0.5
    one_change "stop-start-$n" stop_start "$n"
  done
  sleep 1
  touch "$T/stop-client"
  wait_exit "$client" 10 || fail "$impl: the client loop did not end"
  verdict=$("$PY" "$HERE/restart_client.py" verdict "$T/client.log" "$T/windows") ||
    fail "$impl: $(tr '\n' ';' <<<"$verdict")"
  while read -r line; do log "$impl: $line"; done <<<"$verdict"
  ok "$impl: $RESTARTS podman restarts and $STOP_STARTS stop/start pairs all succeeded; connections failed only while the container was changing, none hung"
  pm rm -f -t 0 web >/dev/null || pm_fail "$impl: podman rm web"
  podman5_none_left
done
pass
