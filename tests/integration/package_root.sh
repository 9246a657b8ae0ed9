#!/usr/bin/env bash
# The part of test_package.sh that runs in the Debian 12 root (read that
# file first). Two stages, both as root in test_package's fresh mount,
# network and pid namespaces:
#
#   package_root.sh outside ROOTFS T
#       makes T/root an overlay of ROOTFS (upper layer in T: the cache stays
#       clean) with /dev and /sys bound in, a fresh /proc, tmpfs on /tmp,
#       /run and /dev/shm, and T/stage (the package and this script) at
#       /netd-test; pivot_root makes it "/" (rootless Podman cannot make user
#       namespaces from a chroot) and runs the second stage:
#   package_root.sh inside
#       the steps b-e of test_package.sh, with the root's own tools only.
set -euo pipefail
log() { echo "[$(date +%T)] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
ok() { log "ok: $*"; }

if [[ ${1:-} == outside ]]; then
  ROOTFS=$2 T=$3
  r=$T/root
  mkdir -p "$r" "$T/upper" "$T/work"
  mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$T/upper,workdir=$T/work" "$r"
  mount --rbind /dev "$r/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"  # podman's locks
  mount -t proc proc "$r/proc"
  mount --rbind /sys "$r/sys"
  # crun 1.8 refuses containers on a "hybrid" cgroup host whose v2 mount has
  # controllers (tests/integration/podman_lib.sh explains): hidden here too.
  if [[ "$(stat -fc %T "$r/sys/fs/cgroup" 2>/dev/null)" == tmpfs &&
    "$(stat -fc %T "$r/sys/fs/cgroup/unified" 2>/dev/null)" == cgroup2fs ]]; then
    mount -t tmpfs none "$r/sys/fs/cgroup/unified"
  fi
  for d in tmp run; do mount -t tmpfs -o mode=1777 tmpfs "$r/$d"; done
  mkdir -p "$r/netd-test"
  mount --bind "$T/stage" "$r/netd-test"
  ip link set lo up
  cd "$r"
  mkdir -p .old-root
  pivot_root . .old-root
  cd /
  umount -l /.old-root
  rmdir /.old-root
  mount --make-rshared /
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 bash /netd-test/package_root.sh inside
fi

[[ ${1:-} == inside ]] || fail "usage: package_root.sh outside ROOTFS T | inside"
grep -q '^VERSION_ID="12"' /etc/os-release || fail "not in the Debian 12 root: $(cat /etc/os-release)"
! command -v netd >/dev/null || fail "the clean root already has a netd"

# --- b. install ------------------------------------------------------------------
mkdir -p /root/build
cp /netd-test/netd_*.deb /root/build/
cd /root
# (apt asks before it installs the dependencies too; the answer is yes, and
# the pipeline's status is apt's. No network here: what is not in the root's
# apt cache cannot be fetched.)
if ! (set +o pipefail; yes | apt install ./build/netd_*.deb >/tmp/apt.log 2>&1); then
  cat /tmp/apt.log >&2
  fail "apt install (a dependency missing from the root's cache? see scripts/make-debian-root.sh)"
fi
[[ "$(command -v netd)" == /usr/bin/netd ]] || fail "netd is not /usr/bin/netd after the install"
newly=$(sed -n 's/^Setting up \([^:]*\).*/\1/p' /tmp/apt.log | tr '\n' ' ')
ok "apt install ./build/netd_*.deb (set up: $newly)"
! ldd /usr/bin/netd | grep -q "not found" || fail "unresolved libraries: $(ldd /usr/bin/netd | grep 'not found')"
for h in slirp4netns pasta pesto aardvark-dns; do
  [[ "$(readlink -f /usr/libexec/netd/$h)" == /usr/bin/netd ]] || fail "/usr/libexec/netd/$h does not lead to netd"
done
/usr/libexec/netd/slirp4netns --version | grep -q "slirp4netns version" || fail "slirp4netns --version"
ok "netd runs: $(netd version); /usr/libexec/netd/slirp4netns answers as slirp4netns"

# The administrator's part of a Podman set-up without systemd: cgroupfs, a
# file for events, and vfs storage (this root is itself an overlay).
cat >/etc/containers/containers.conf <<'EOF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >/etc/containers/storage.conf <<'EOF'
[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
EOF

# doctor_line NAME OUTPUT: the line of check NAME.
doctor_line() { grep -E "^(OK|WARN|FAIL) +$1 " <<<"$2" || true; }
# expect_check STATUS NAME OUTPUT [TEXT]
expect_check() {
  local line
  line=$(doctor_line "$2" "$3")
  [[ $line == "$1 "* ]] || fail "netd doctor: expected $1 for $2, got: ${line:-nothing}"$'\n'"$3"
  [[ -z "${4:-}" || $line == *"$4"* ]] || fail "netd doctor: $2 should say '$4': $line"
}

# --- c. root ---------------------------------------------------------------------
out=$(netd doctor) || fail "netd doctor as root exited $?: $out"
echo "$out" >&2
expect_check OK tun "$out"
expect_check OK userns "$out"
expect_check OK io_uring "$out"
expect_check OK nftables "$out"
expect_check OK helpers "$out" "/usr/libexec/netd holds slirp4netns, pasta, pesto, aardvark-dns"
# (Debian's slirp4netns is only recommended by podman, not installed here.)
expect_check WARN podman "$out" "finds no slirp4netns to run (none installed) — fix: netd setup podman --system"
ok "netd doctor as root: exit 0, podman has no slirp4netns yet"
out=$(netd setup podman --system) || fail "netd setup podman --system: $out"
[[ $out == "wrote /etc/containers/containers.conf.d/netd.conf:"* ]] || fail "setup --system printed: $out"
out=$(netd doctor) || fail "netd doctor as root exited $?"
expect_check OK podman "$out" "/usr/libexec/netd/slirp4netns is netd"
netd setup podman --system --undo | grep -qx "removed /etc/containers/containers.conf.d/netd.conf" ||
  fail "setup --system --undo"
ok "netd setup podman --system: doctor sees netd as Podman's slirp4netns; --undo"

# --- d. a user -------------------------------------------------------------------
# No subordinate ids, so doctor has something to fix.
useradd --create-home --shell /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 tester
uid=$(id -u tester)
mkdir -p "/run/user/$uid"
chown tester: "/run/user/$uid"
chmod 0700 "/run/user/$uid"
as_tester() {
  runuser -u tester -- env -i PATH=/usr/bin:/bin HOME=/home/tester XDG_RUNTIME_DIR="/run/user/$uid" LANG=C.UTF-8 \
    bash -c 'cd "$HOME" && eval "$1"' as_tester "$1"
}
sysctl -qw net.ipv4.ping_group_range="1 0"  # the kernel's default: no one may ping
out=$(as_tester "netd doctor") || fail "netd doctor as a user exited $?: $out"
echo "$out" >&2
expect_check WARN subuid "$out" "fix: sudo usermod --add-subuids 100000-165535 tester"
expect_check WARN subgid "$out" "fix: sudo usermod --add-subgids 100000-165535 tester"
expect_check WARN ping "$out" "gid $(id -g tester) of tester is outside net.ipv4.ping_group_range (1 0)"
# Each fix as printed (this root has no sudo: it runs as root here; the
# sysctl.d remark is advice, not part of the command).
for check in subuid subgid ping; do
  fix=$(doctor_line "$check" "$out" | sed 's/.* — fix: sudo //; s/ (and in a file under .*//')
  log "applying doctor's fix for $check: $fix"
  eval "$fix" || fail "the fix for $check failed: $fix"
done
out=$(as_tester "netd doctor") || fail "netd doctor exited $?: $out"
expect_check OK subuid "$out" "tester has 65536 subordinate user ids from 100000"
expect_check OK subgid "$out"
expect_check OK ping "$out"
expect_check OK uidmap "$out"
expect_check WARN podman "$out" "podman 4.3.1 spawns slirp4netns for rootless containers, but finds no slirp4netns"
ok "netd doctor as a user: the fixes it names for subuid, subgid and ping work"

# The README's steps.
out=$(as_tester "netd setup podman --user") || fail "netd setup podman --user: $out"
[[ $out == "wrote /home/tester/.config/containers/containers.conf.d/netd.conf:"* ]] || fail "setup --user printed: $out"
grep -q 'network_cmd_path = "/usr/libexec/netd/slirp4netns"' /home/tester/.config/containers/containers.conf.d/netd.conf ||
  fail "the drop-in does not name netd's slirp4netns"
out=$(as_tester "netd doctor") || fail "netd doctor exited $?: $out"
echo "$out" >&2
expect_check OK podman "$out" "/usr/libexec/netd/slirp4netns is netd"
ok "netd setup podman --user; netd doctor: podman 4.3.1's slirp4netns is netd"

# An image named like the one the README runs, from the root's static
# busybox (nothing is pulled: there is no network).
mkdir -p /tmp/img/bin /tmp/img/www
cp /bin/busybox /tmp/img/bin/
for a in sh ip wget httpd cat; do ln -s busybox "/tmp/img/bin/$a"; done
tar -C /tmp/img -cf /tmp/busybox.tar .
chmod a+r /tmp/busybox.tar
as_tester "podman import /tmp/busybox.tar docker.io/library/busybox" >/dev/null 2>/tmp/import.log ||
  fail "podman import: $(cat /tmp/import.log)"

route=$(as_tester "podman run --rm busybox ip route" 2>/tmp/run.log) || fail "podman run: $(cat /tmp/run.log)"
grep -q "^default via 10.0.2.2 dev tap0" <<<"$route" || fail "the container's routes are not netd's: $route"
ok "podman run --rm busybox ip route: $(head -n1 <<<"$route")"

# Traffic: a page on the host's 127.0.0.1, reached through the gateway.
mkdir -p /tmp/srv
echo "served on the host's loopback" >/tmp/srv/hello.txt
busybox httpd -f -p 127.0.0.1:8081 -h /tmp/srv &
httpd_pid=$!
for ((i = 0; i < 50; i++)); do busybox wget -q -O /dev/null http://127.0.0.1:8081/hello.txt 2>/dev/null && break; sleep 0.1; done
page=$(as_tester "podman run --rm --network slirp4netns:allow_host_loopback=true busybox wget -qO- http://10.0.2.2:8081/hello.txt" 2>/tmp/run.log) ||
  fail "the container could not fetch the page: $(cat /tmp/run.log)"
[[ $page == "served on the host's loopback" ]] || fail "the container fetched '$page'"
kill "$httpd_pid"
ok "a container fetched a page from the host's loopback through netd"

out=$(as_tester "netd setup podman --user --undo")
[[ $out == "removed /home/tester/.config/containers/containers.conf.d/netd.conf" ]] || fail "--undo printed: $out"
[[ -z "$(ls -A /home/tester/.config/containers/containers.conf.d)" ]] || fail "--undo left files behind"
ok "netd setup podman --user --undo removed exactly its file"

# --- e. bash completion ------------------------------------------------------------
complete_words() {
  bash -c 'source /usr/share/bash-completion/completions/netd
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _netd; printf "%s\n" "${COMPREPLY[@]}"' complete "$@"
}
[[ "$(complete_words netd do)" == doctor ]] || fail "completion of 'netd do': $(complete_words netd do)"
[[ "$(complete_words netd setup p)" == podman ]] || fail "completion of 'netd setup p'"
[[ "$(complete_words netd setup podman --u | tr '\n' ' ')" == "--undo --user " ]] ||
  fail "completion of 'netd setup podman --u': $(complete_words netd setup podman --u)"
[[ "$(complete_words netd forward --ready)" == --ready-fd ]] || fail "completion of 'netd forward --ready'"
ok "bash completion: commands, subcommands, options"
