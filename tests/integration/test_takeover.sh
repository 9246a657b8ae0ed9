#!/usr/bin/env bash
# A process that has taken over netd attach: the test binary netd-takeover
# (tests/takeover/netd_takeover.cpp: netd attach's own start-up, then a
# payload on the data plane thread once the sandbox is up) tries io_uring
# SOCKET (AF_UNIX, AF_NETLINK) and OPENAT on netd's own ring, a probe of the
# ring, a new ring, a UNIX socket and a connect to a listening one, opening
# /proc/1/status and /etc/passwd, execve, fork, ptrace, mount, unshare and
# setns. With the defaults (sandbox and seccomp on) every attempt must be
# refused; with --disable-seccomp the ring's own allow-list must still
# refuse every io_uring attempt (it does not depend on seccomp). Then the
# same payload (but the ring attempts) inside netd dns, from a hook only
# netd-takeover sets.
source "$(dirname "$0")/lib.sh"

TAKEOVER="$(dirname "$NETD_BIN")/netd-takeover"
[[ -x "$TAKEOVER" ]] || skip "netd-takeover was not built next to $NETD_BIN (cmake --build build --target netd-takeover)"

container_up

# A UNIX socket a takeover would like to reach (a stand-in for a D-Bus or
# container-engine socket of the same user).
victim="$T/victim.sock"
"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
time.sleep(60)' "$victim" &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do [[ -S "$victim" ]] && break; sleep 0.1; done
[[ -S "$victim" ]] || fail "the victim UNIX socket did not appear"
chmod 0777 "$T" "$victim"  # reachable by the unprivileged variant, were it not for the sandbox

run=()
if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then run=(setpriv --bounding-set=-all --inh-caps=-all); fi

# run_takeover OUT [ARGS...]: the payload's report in OUT; its log in $NETD_LOG.
run_takeover() {
  local out=$1 rc=0
  shift
  timeout 30 "${run[@]}" "$TAKEOVER" "$victim" "$@" "$CTR" >"$out" 2>>"$NETD_LOG" || rc=$?
  [[ $rc -eq 0 ]] || fail "netd-takeover $* exited $rc: $(cat "$out")"
  if grep -q "^payload: running after the sandbox, loop epoll$" "$out"; then
    skip "io_uring is refused on this host (netd fell back to epoll): the ring's allow-list cannot be tried"
  fi
  grep -q "^payload: running after the sandbox, loop io_uring$" "$out" ||
    fail "the payload did not run on an io_uring loop: $(cat "$out")"
}

expected=(io_uring-socket-unix io_uring-socket-netlink io_uring-openat-proc-1 io_uring-register-probe
  io_uring-setup-new-ring socket-unix connect-unix-socket open-proc-1-status open-etc-passwd execve-bin-sh
  fork ptrace-attach-parent mount-tmpfs unshare-user-namespace setns)

run_takeover "$T/default.out"
cat "$T/default.out" >&2
grep -q "sandbox: empty read-only root, no capabilities.*seccomp allow-list" "$NETD_LOG" ||
  fail "the payload ran without the sandbox line in the log"
for a in "${expected[@]}"; do
  line=$(grep "^attempt $a: " "$T/default.out") || fail "attempt $a was not made"
  [[ "$line" == "attempt $a: refused ("* ]] || fail "with the defaults: $line"
done
[[ $(grep -c "^attempt " "$T/default.out") -eq ${#expected[@]} ]] || fail "unexpected attempts: $(cat "$T/default.out")"
grep -q "^payload: ${#expected[@]} refused, 0 allowed$" "$T/default.out" || fail "tally: $(tail -1 "$T/default.out")"
# What stopped them: the ring's allow-list for what goes through the ring,
# seccomp for the system calls.
for a in io_uring-socket-unix io_uring-socket-netlink io_uring-openat-proc-1 io_uring-register-probe; do
  grep -q "^attempt $a: refused (Permission denied)$" "$T/default.out" || fail "$a not refused by the ring"
done
for a in io_uring-setup-new-ring socket-unix execve-bin-sh fork ptrace-attach-parent mount-tmpfs; do
  grep -q "^attempt $a: refused (seccomp: SIGSYS" "$T/default.out" || fail "$a not stopped by seccomp"
done
ok "defaults: all ${#expected[@]} attempts refused (ring allow-list: EACCES; seccomp: SIGSYS; open: ENOENT)"

run_takeover "$T/noseccomp.out" --disable-seccomp
cat "$T/noseccomp.out" >&2
for a in io_uring-socket-unix io_uring-socket-netlink io_uring-openat-proc-1 io_uring-register-probe; do
  grep -q "^attempt $a: refused (Permission denied)$" "$T/noseccomp.out" ||
    fail "without seccomp, $a: $(grep "^attempt $a" "$T/noseccomp.out")"
done
# The empty root alone: no file to open or execute, no UNIX socket path to reach.
for a in connect-unix-socket open-proc-1-status open-etc-passwd execve-bin-sh; do
  grep -q "^attempt $a: refused (No such file or directory)$" "$T/noseccomp.out" ||
    fail "without seccomp, $a: $(grep "^attempt $a" "$T/noseccomp.out")"
done
for a in ptrace-attach-parent mount-tmpfs setns; do
  grep -q "^attempt $a: refused (" "$T/noseccomp.out" || fail "without seccomp, $a: $(grep "^attempt $a" "$T/noseccomp.out")"
done
ok "--disable-seccomp: the ring still refuses every io_uring attempt; the empty root leaves no path to open, execute or connect to"

# netd dns (it parses every container's queries): the same attempts but the
# ring's (it has none), from its hook once its sandbox is up. Its root keeps
# the configuration directory (and no resolv.conf: --upstream is given).
mkdir -p "$T/dnscfg"
printf '127.77.0.9\nabc 127.77.1.5  web\n' >"$T/dnscfg/n1"
dns_out=$T/dns.out
rc=0
# (Started as test_dns_server.sh starts netd dns: a root without any
# capability could not map itself into the sandbox's user namespace, which
# netd dns needs for the directory it keeps; docs/security.md.)
timeout 30 "$TAKEOVER" dns "$victim" --config "$T/dnscfg" -p 5599 --foreground \
  --upstream 127.0.0.1:53 run >"$dns_out" 2>>"$NETD_LOG" || rc=$?
[[ $rc -eq 0 ]] || fail "netd-takeover dns exited $rc: $(cat "$dns_out")"
cat "$dns_out" >&2
grep -q "^payload: running after the sandbox, loop none$" "$dns_out" || fail "the dns payload did not run: $(cat "$dns_out")"
grep -q "sandbox: a read-only root holding only the configuration, no capabilities, seccomp allow-list" "$NETD_LOG" ||
  fail "netd dns: no sandbox line in the log"
dns_expected=("${expected[@]:4}")  # all but the four on the ring
for a in "${dns_expected[@]}"; do
  line=$(grep "^attempt $a: " "$dns_out") || fail "netd dns: attempt $a was not made"
  [[ "$line" == "attempt $a: refused ("* ]] || fail "netd dns: $line"
done
grep -q "^payload: ${#dns_expected[@]} refused, 0 allowed$" "$dns_out" || fail "netd dns tally: $(tail -1 "$dns_out")"
ok "netd dns: all ${#dns_expected[@]} attempts refused"
pass
