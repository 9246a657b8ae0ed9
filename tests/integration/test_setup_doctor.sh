#!/usr/bin/env bash
# `netd setup podman` on real files in a temporary HOME, and `netd doctor`
# run for real, as root of the harness and as an unprivileged user:
#   a. --dry-run prints the drop-in and writes nothing; the default (--user)
#      writes $HOME/.config/containers/containers.conf.d/netd.conf with
#      exactly that text, mode 0644, and says "wrote"; again: "updated";
#      XDG_CONFIG_HOME moves it.
#   b. A file of that name that netd did not write (own text, a symlink) is
#      neither written over nor removed (exit 1, untouched); --undo removes
#      netd's file and nothing else (the directory stays), and a second
#      --undo has nothing to do (exit 0); --user with --system is a usage
#      error (2). --system writes /etc/containers/containers.conf.d/netd.conf
#      (an empty tmpfs over /etc/containers in this mount namespace).
#   c. A netd binary without its helper links beside it refuses to set up.
#   d. Debian's podman 4.3, rootless, reads the drop-in (--system here: see
#      below): podman info names netd's slirp4netns; `netd doctor` then says
#      OK for podman, tun, userns, io_uring and helpers, and exits 0 (nothing
#      FAILs here); after --undo its podman line WARNs and names the fix.
#   e. Under a seccomp filter that refuses io_uring with EPERM (no_uring.py,
#      as Docker's and containerd's default profiles do), doctor's io_uring
#      line blames a seccomp filter and names the syscalls to allow, and
#      only WARNs (exit 0): make_event_loop() falls back to epoll.
NETD_HARNESS_SUBIDS=1
source "$(dirname "$0")/lib.sh"

export HOME=$T/home XDG_RUNTIME_DIR=$T/xdg
unset XDG_CONFIG_HOME CONTAINERS_CONF
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
HELPERS=$(cd "$(dirname "$NETD_BIN")/../libexec/netd" 2>/dev/null && pwd -P || true)
if [[ -z "$HELPERS" ]]; then
  # (the unprivileged run's copy of netd has no helper links: give it some,
  # laid out as an install is)
  mkdir -p "$T/inst/bin" "$T/inst/libexec/netd"
  cp "$NETD_BIN" "$T/inst/bin/netd"
  for h in slirp4netns pasta pesto aardvark-dns; do ln -s ../../bin/netd "$T/inst/libexec/netd/$h"; done
  NETD_BIN=$T/inst/bin/netd
  HELPERS=$T/inst/libexec/netd
fi
DIR=$HOME/.config/containers/containers.conf.d
FILE=$DIR/netd.conf

# --- a. ------------------------------------------------------------------------------
dry=$("$NETD_BIN" setup podman --dry-run) || fail "--dry-run: $dry"
[[ ! -e "$HOME/.config" ]] || fail "--dry-run created $HOME/.config"
[[ "$(head -n1 <<<"$dry")" == "would write $FILE:" ]] || fail "--dry-run printed: $dry"
grep -qx "  \"$HELPERS\"," <<<"$dry" || fail "the drop-in does not name $HELPERS first: $dry"
out=$("$NETD_BIN" setup podman) || fail "setup podman: $out"
[[ "$(head -n1 <<<"$out")" == "wrote $FILE:" ]] || fail "setup podman printed: $out"
[[ "$(cat "$FILE")" == "$(tail -n +2 <<<"$dry")" ]] || fail "the file differs from what --dry-run printed: $(cat "$FILE")"
[[ "$(stat -c %a "$FILE")" == 644 ]] || fail "mode $(stat -c %a "$FILE")"
[[ -z "$(find "$DIR" -name '.netd.conf.*')" ]] || fail "a temporary file was left in $DIR"
out=$("$NETD_BIN" setup podman --user) || fail "setup podman --user again: $out"
[[ "$(head -n1 <<<"$out")" == "updated $FILE:" ]] || fail "the second setup printed: $out"
out=$(XDG_CONFIG_HOME=$T/xdgconf "$NETD_BIN" setup podman --dry-run)
[[ "$(head -n1 <<<"$out")" == "would write $T/xdgconf/containers/containers.conf.d/netd.conf:" ]] ||
  fail "XDG_CONFIG_HOME is not followed: $out"
ok "setup podman: --dry-run writes nothing, the file holds exactly what it printed, again updates, XDG_CONFIG_HOME"

# --- b. ------------------------------------------------------------------------------
printf '[engine]\nnetwork_cmd_path = "/usr/bin/slirp4netns"\n' >"$FILE"
cp "$FILE" "$T/mine"
rc=0
err=$("$NETD_BIN" setup podman 2>&1) || rc=$?
((rc == 1)) || fail "setup over a foreign file exited $rc: $err"
[[ $err == *"was not written by netd: not touching it"* ]] || fail "setup over a foreign file said: $err"
rc=0
err=$("$NETD_BIN" setup podman --undo 2>&1) || rc=$?
((rc == 1)) || fail "--undo of a foreign file exited $rc: $err"
cmp -s "$FILE" "$T/mine" || fail "the foreign file was changed"
rm "$FILE"
ln -s "$T/mine" "$FILE"
rc=0
"$NETD_BIN" setup podman >/dev/null 2>&1 || rc=$?
((rc == 1)) && [[ -L "$FILE" ]] && cmp -s "$T/mine" <(printf '[engine]\nnetwork_cmd_path = "/usr/bin/slirp4netns"\n') ||
  fail "setup wrote through or over a symlink named netd.conf (exit $rc)"
rm "$FILE"
"$NETD_BIN" setup podman >/dev/null || fail "setup podman after the foreign file went"
touch "$DIR/50-mine.conf"
out=$("$NETD_BIN" setup podman --undo) || fail "--undo: $out"
[[ $out == "removed $FILE" ]] || fail "--undo printed: $out"
[[ ! -e "$FILE" && -f "$DIR/50-mine.conf" && -d "$DIR" ]] || fail "--undo removed more or less than its file: $(ls -la "$DIR")"
out=$("$NETD_BIN" setup podman --undo) || fail "a second --undo failed: $out"
[[ $out == "nothing to undo: $FILE does not exist" ]] || fail "a second --undo printed: $out"
rc=0
"$NETD_BIN" setup podman --user --system >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "--user --system exited $rc"
mount -t tmpfs tmpfs /etc/containers
out=$("$NETD_BIN" setup podman --system) || fail "--system: $out"
[[ "$(head -n1 <<<"$out")" == "wrote /etc/containers/containers.conf.d/netd.conf:" ]] || fail "--system printed: $out"
"$NETD_BIN" setup podman --system --undo | grep -qx "removed /etc/containers/containers.conf.d/netd.conf" ||
  fail "--system --undo"
umount /etc/containers
ok "foreign files and symlinks are left alone, --undo removes only netd's file, --system"

# --- c. ------------------------------------------------------------------------------
mkdir -p "$T/bare"
cp "$NETD_BIN" "$T/bare/netd"
rc=0
err=$("$T/bare/netd" setup podman 2>&1) || rc=$?
((rc == 1)) && [[ $err == *"no helper slirp4netns for $T/bare/netd"* ]] || fail "a netd without helpers: exit $rc: $err"
[[ ! -e "$FILE" ]] || fail "a netd without helpers wrote $FILE"
ok "a netd without its helper links refuses to set up"

# --- d. ------------------------------------------------------------------------------
# Rootless podman, as podman_lib.sh runs it: root of this user namespace
# (which maps subordinate ids too) with _CONTAINERS_USERNS_CONFIGURED. Podman
# 4.3 reads a user's drop-ins only when its real uid is not 0, so here it is
# the --system drop-in it is shown (/etc/containers is a tmpfs in this mount
# namespace); test_package.sh runs --user with a real user.
command -v podman >/dev/null || fail "podman is not installed (scripts/install-deps.sh installs it)"
cat >"$T/storage.conf" <<EOF2
[storage]
driver = "vfs"
graphroot = "$T/storage"
runroot = "$T/runroot"
EOF2
: >"$T/registries.conf"
export _CONTAINERS_USERNS_CONFIGURED=done TMPDIR=$T CONTAINERS_STORAGE_CONF=$T/storage.conf \
  CONTAINERS_REGISTRIES_CONF=$T/registries.conf
mount -t tmpfs tmpfs /etc/containers
mount -t tmpfs -o mode=1777 tmpfs /dev/shm  # podman's locks
# (podman's own state under $T, as podman_lib.sh keeps it)
cat >/etc/containers/containers.conf <<EOF2
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
static_dir = "$T/libpod"
volume_path = "$T/volumes"
EOF2
"$NETD_BIN" setup podman --system >/dev/null || fail "setup podman --system"
exe=$(podman info --format '{{.Host.Slirp4NetNS.Executable}}' 2>"$T/podman.err") ||
  fail "podman info: $(cat "$T/podman.err")"
[[ $exe == "$HELPERS/slirp4netns" ]] || fail "podman's slirp4netns is '$exe', not $HELPERS/slirp4netns"
ok "podman 4.3 (rootless) reads the drop-in: its slirp4netns is $exe"

rc=0
out=$("$NETD_BIN" doctor) || rc=$?
echo "$out" >&2
((rc == 0)) || fail "netd doctor exited $rc"
for check in tun userns io_uring helpers podman; do
  grep -qE "^OK +$check " <<<"$out" || fail "doctor: $check is not OK"
done
grep -qE "^OK +podman +podman 4\.3\.[0-9]+ .*: $HELPERS/slirp4netns is netd" <<<"$out" || fail "doctor's podman line"
[[ $(grep -cE '^(OK|WARN|FAIL) ' <<<"$out") == 11 && $(wc -l <<<"$out") == 11 ]] || fail "doctor printed other lines"
"$NETD_BIN" setup podman --system --undo >/dev/null
out=$("$NETD_BIN" doctor) || fail "doctor after --undo exited $?"
grep -qE "^WARN +podman .*not netd — fix: netd setup podman --system" <<<"$out" ||
  fail "doctor after --undo: $(grep podman <<<"$out")"
ok "netd doctor: exit 0, podman OK with the drop-in, WARN with its fix without it"

# --- e. ------------------------------------------------------------------------------
rc=0
out=$("$PY" "$HERE/no_uring.py" "$NETD_BIN" doctor 2>"$T/doctor.err") || rc=$?
line=$(grep -E "^(OK|WARN|FAIL) +io_uring " <<<"$out") || fail "no io_uring line under the filter: $out"
[[ $line == *"io_uring refused (io_uring_setup: Operation not permitted): a seccomp filter refuses it"* &&
  $line == *"fix: allow io_uring_setup, io_uring_enter and io_uring_register"* ]] || fail "io_uring line: $line"
[[ $line == WARN*"netd runs its data plane on epoll instead (slower)"* ]] && ((rc == 0)) || fail "exit $rc: $line"
ok "io_uring refused by seccomp: WARN (exit 0): epoll instead, the filter blamed, the syscalls to allow named"
pass
