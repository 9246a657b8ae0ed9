#!/usr/bin/env bash
# Load and limits, bounded:
#  - 10 000 TCP connections through netd open at the same time, each echoing
#    a byte; netd's RSS and fd count while they are held are logged (the
#    "ok:" line), and every connection and fd is gone afterwards;
#  - file descriptor exhaustion: netd's RLIMIT_NOFILE lowered to 128 while it
#    runs; 300 guest connections: the ones beyond the limit are refused (RST,
#    counted as fd_exhausted), UDP flows beyond it get ICMP; netd keeps
#    running, and once the connections close new ones work again.
source "$(dirname "$0")/lib.sh"

world_up
world_server echo-async 8090
world_server udp-echo 7
container_up
netd_attach --disable-dns
dhcp_lease
rss() { awk '/^VmRSS/ {print $2}' "/proc/$NETD_PID/status"; }
fds() { ls "/proc/$NETD_PID/fd" | wc -l; }
rss0=$(rss)
fds0=$(fds)

N=10000
in_ctr_bg "$PY" "$SERVERS" hold 198.51.100.10 8090 "$N" 0 3 >"$T/hold.out" 2>&1
HOLD=$BG_PID
for ((i = 0; i < 900; i++)); do grep -q "^open" "$T/hold.out" && break; sleep 0.1; done
grep -q "^open $N refused 0" "$T/hold.out" || fail "not all $N connections opened: $(cat "$T/hold.out")"
sleep 1  # the echoes
rss_held=$(rss)
fds_held=$(fds)
rc=0
wait "$HOLD" || rc=$?
[[ $rc -eq 0 ]] || fail "hold: $(cat "$T/hold.out")"
settled() {
  [[ "$(netd_counter tcp_conns_opened)" == "$(netd_counter tcp_conns_closed)" && "$(fds)" -le "$fds0" ]]
}
retry 300 settled || fail "after closing: opened $(netd_counter tcp_conns_opened)," \
  "closed $(netd_counter tcp_conns_closed), fds $(fds) (baseline $fds0)"
ok "$N concurrent TCP connections: $(tail -n1 "$T/hold.out"); netd RSS ${rss0} -> ${rss_held} KiB," \
  "fds ${fds0} -> ${fds_held}; all closed again (limits hit: conn $(netd_counter tcp_conn_limit)," \
  "connect $(netd_counter tcp_connect_limit))"

# --- file descriptor exhaustion ------------------------------------------------
prlimit --pid "$NETD_PID" --nofile=128:128
out=$(in_ctr "$PY" "$SERVERS" hold 198.51.100.10 8090 300 1 0) || fail "hold under the fd limit: $out"
refused=$(sed -n 's/^open [0-9]* refused \([0-9]*\)$/\1/p' <<<"$out")
[[ -n "$refused" && "$refused" -gt 0 ]] || fail "expected refusals at 128 fds: $out"
kill -0 "$NETD_PID" || fail "netd died at the fd limit"
exhausted=$(netd_counter fd_exhausted)
[[ "$exhausted" -gt 0 ]] || fail "fd_exhausted not counted"
retry 300 settled || fail "after the fd-limited run: connections or fds left"
after=$(in_ctr "$PY" "$SERVERS" hold 198.51.100.10 8090 20 0 0 2>&1) || fail "no new connections after the fd limit: $after"
grep -q "out of file descriptors" "$NETD_LOG" || fail "no warning about the fd limit in the log"
ok "RLIMIT_NOFILE 128: of 300 connections $refused were refused (RST, fd_exhausted $exhausted)," \
  "netd alive; afterwards 20 new ones: $(tail -n1 <<<"$after")"

# UDP at the fd limit: flows beyond it get ICMP (EHOSTUNREACH at the sender), not silence.
hold_out="$T/hold2.out"
in_ctr_bg "$PY" "$SERVERS" hold 198.51.100.10 8090 200 1 5 >"$hold_out" 2>&1
for ((i = 0; i < 300; i++)); do grep -q "^open" "$hold_out" && break; sleep 0.1; done
rc=0
out=$(in_ctr "$PY" "$SERVERS" udp-client 198.51.100.10 7 at-the-limit 2>&1) || rc=$?
[[ $rc -ne 0 && "$out" != "at-the-limit" ]] || fail "UDP at the fd limit was forwarded? ($out)"
[[ "$out" == "error EHOSTUNREACH" ]] || fail "UDP at the fd limit: expected ICMP (EHOSTUNREACH), got '$out'"
wait "$BG_PID" || fail "the connections held at the fd limit did not all echo: $(cat "$hold_out")"
grep -q "seccomp: blocked" "$NETD_LOG" && fail "a system call was blocked"
ok "UDP at the fd limit: refused with ICMP ($out)"
pass
