#!/usr/bin/env bash
# netd attach's sandbox (on by default, with the seccomp allow-list): the
# running netd has NoNewPrivs, a seccomp filter, no capabilities, an empty
# read-only root, and still does its work, including DNS when resolv.conf is
# a symlink to a file outside /etc and /run; a clean SIGTERM and a SIGKILL
# both leave no pid file behind (the clean-up helper outside the sandbox);
# --disable-sandbox --disable-seccomp turn it all off.
source "$(dirname "$0")/lib.sh"
need_tools dig

world_up
world_server dns 53
world_server tcp-server 8080
world_server udp-echo 7
container_up

# /etc/resolv.conf as a symlink to somewhere else (this mount namespace only):
# a directory of links to the real /etc, except resolv.conf.
mkdir -p "$T/orig-etc" "$T/etc" "$T/elsewhere"
mount --bind /etc "$T/orig-etc"
for f in "$T"/orig-etc/*; do ln -s "$f" "$T/etc/$(basename "$f")"; done
rm -f "$T/etc/resolv.conf"
echo "nameserver 198.51.100.10" >"$T/elsewhere/resolv.conf"
ln -s "$T/elsewhere/resolv.conf" "$T/etc/resolv.conf"
mount --bind "$T/etc" /etc
[[ -L /etc/resolv.conf && "$(readlink /etc/resolv.conf)" == "$T/elsewhere/resolv.conf" ]] ||
  fail "could not make /etc/resolv.conf a symlink"

"$NETD_BIN" attach --help >"$T/help"  # not piped into grep -q: an early exit is SIGPIPE under pipefail
grep -q -- "--disable-seccomp" "$T/help" || fail "--help does not mention --disable-seccomp"
netd_attach --pid-file "$T/netd.pid"
grep -q "sandbox: empty read-only root, no capabilities.*seccomp allow-list" "$NETD_LOG" ||
  fail "no sandbox line in the log"

status=$(cat "/proc/$NETD_PID/status")
field() { awk -v k="$1:" '$1 == k {print $2}' <<<"$status"; }
[[ "$(field NoNewPrivs)" == 1 ]] || fail "NoNewPrivs is '$(field NoNewPrivs)'"
[[ "$(field Seccomp)" == 2 ]] || fail "Seccomp is '$(field Seccomp)' (2 = filter)"
# Only CAP_NET_BIND_SERVICE (bit 10) may stay, for a netd run by root (see docs/security.md).
if (((16#$(field CapEff) | 16#$(field CapPrm)) & ~0x400)) || [[ "$(field CapInh)" != 0000000000000000 ]]; then
  fail "capabilities left: CapEff $(field CapEff) CapPrm $(field CapPrm) CapInh $(field CapInh)"
fi
[[ "$(field CapBnd)" == 0000000000000000 ]] || fail "bounding set left: $(field CapBnd)"
ok "NoNewPrivs 1, Seccomp 2, no capabilities (effective, permitted, bounding)"

root=$(ls -A "/proc/$NETD_PID/root/")
[[ -z "$root" ]] || fail "netd's root is not empty: $root"
mounts=$(cat "/proc/$NETD_PID/mountinfo")
[[ $(wc -l <<<"$mounts") -eq 1 ]] || fail "netd sees more than its root: $mounts"
awk '$5 == "/" && $6 ~ /(^|,)ro(,|$)/ && $0 ~ / - tmpfs / {found=1} END {exit !found}' <<<"$mounts" ||
  fail "netd's root is not a read-only tmpfs: $mounts"
ok "netd's root is an empty read-only tmpfs, and its only mount"

dhcp_lease
in_ctr ping -c 1 -W 2 198.51.100.10 >/dev/null || fail "ping world host"
out=$(in_ctr "$PY" "$SERVERS" udp-client 198.51.100.10 7 sandboxed-udp) || fail "UDP: $out"
[[ "$out" == sandboxed-udp ]] || fail "UDP echo returned '$out'"
out=$(in_ctr "$PY" "$SERVERS" tcp-client 198.51.100.10 8080 download 5000000) || fail "TCP: $out"
out=$(in_ctr dig +short +time=3 +tries=1 @10.0.2.3 name.test A) || fail "DNS: $out"
[[ "$out" == 192.0.2.55 ]] || fail "DNS through the symlinked resolv.conf's server returned '$out'"
ok "ping, UDP, TCP, DNS (resolv.conf a symlink outside /etc) work in the sandbox"
kill -0 "$NETD_PID" || fail "netd died"
grep -q "seccomp: blocked" "$NETD_LOG" && fail "a system call was blocked"

kill -TERM "$NETD_PID"
rc=0
wait "$NETD_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit status $rc"
[[ ! -e "$T/netd.pid" ]] || fail "pid file left behind after SIGTERM"
ok "SIGTERM: exit 0, pid file removed from outside the sandbox"

netd_attach --pid-file "$T/netd.pid"
[[ -e "$T/netd.pid" ]] || fail "no pid file"
kill -KILL "$NETD_PID"
wait "$NETD_PID" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do [[ -e "$T/netd.pid" ]] || break; sleep 0.1; done
[[ ! -e "$T/netd.pid" ]] || fail "pid file left behind after SIGKILL"
ok "SIGKILL: the clean-up helper still removed the pid file"

netd_attach --disable-sandbox --disable-seccomp
status=$(cat "/proc/$NETD_PID/status")
[[ "$(field NoNewPrivs)" == 0 && "$(field Seccomp)" == 0 ]] || fail "--disable-*: $(grep -E 'NoNewPrivs|Seccomp' <<<"$status")"
[[ -n "$(ls -A "/proc/$NETD_PID/root/")" ]] || fail "--disable-sandbox: root still empty"
ok "--disable-sandbox --disable-seccomp: no sandbox"
pass
