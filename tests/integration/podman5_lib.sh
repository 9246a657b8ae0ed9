# Podman 5 (Debian 13's podman 5.4, passt, netavark, aardvark-dns), rootless,
# inside the namespace harness, for tests/integration/test_podman5.sh and
# bench/podman5_measure.sh. Source after lib.sh (with NETD_HARNESS_SUBIDS=1)
# and bridge_lib.sh:
#
#   NETD_HARNESS_SUBIDS=1
#   source .../lib.sh; source .../bridge_lib.sh; source .../podman5_lib.sh
#   world_up; world_server dns 53      # the DNS server resolv.conf names
#   podman5_setup                      # SKIP (77) without the root; or fail
#   podman5_impl debian|netd           # whose pasta and aardvark-dns podman runs
#   podman_image localhost/x [BIN...]  # as in podman_lib.sh
#   pm run --pull=never ...
#
# Theory of operation. Podman 5 is not packaged for this machine's Debian 12,
# so scripts/make-trixie-root.sh keeps a Debian 13 root file system
# (/var/cache/netd/trixie-root, or $NETD_TRIXIE_ROOT) with it installed.
# podman5_setup starts a "holder" process in a mount namespace of its own in
# which that root, bound read-only, has become "/" by pivot_root, with this
# harness' /dev, /proc and /sys bound in, fresh tmpfs on /tmp, /run and
# /var/tmp, this test's $T bound at the same path, and /etc/resolv.conf,
# /etc/subuid and /etc/subgid bound from files of the test. A chroot would
# not do: the kernel refuses to make a user namespace from a chrooted
# process, and rootless podman makes them. `mount --make-rshared /` then
# lets podman's own bind mounts (network namespace files) propagate as on a
# booted system. $T/bin/podman5 runs podman in that mount namespace
# (nsenter); PODMAN names it, so podman_lib.sh's pm, podman_image and its
# clean-up (every process of this pid namespace ended at exit) serve both
# podman versions. Network and user namespaces are the harness' own: podman
# runs as root of the harness' user namespace with
# _CONTAINERS_USERNS_CONFIGURED and a non-zero _CONTAINERS_ROOTLESS_UID set,
# as rootless podman does after it re-executed itself (podman_lib.sh says
# more), and pasta copies the harness host's addresses and default routes,
# which world_up and podman5_setup give it (198.51.100.1/24 on veth-h,
# default via the world host 198.51.100.10; a test may add IPv6 likewise),
# so every packet stays in namespaces of this test.
#
# Everything podman keeps is under $T, as in podman_lib.sh. containers.conf
# uses runc, the cgroupfs manager and a file events log (this machine has
# cgroups v1, where systemd is not there to ask and runc, unlike crun, copes
# with a hybrid host; runc refuses cgroups = "disabled", but a rootless runc
# on v1 makes no cgroup anyway), and helper_binaries_dir names
# $T/helpers-IMPL: for "debian", symlinks to the root's /usr/bin/pasta and
# aardvark-dns; for "netd", symlinks named pasta and aardvark-dns to a copy of
# $NETD_BIN inside $T; both with the root's netavark and rootlessport.

TRIXIE_ROOT=${NETD_TRIXIE_ROOT:-/var/cache/netd/trixie-root}
PODMAN=$T/bin/podman5
# shellcheck source=podman_lib.sh
source "$HERE/podman_lib.sh" || return 1
PODMAN5_HOLDER=""

# podman5_enter CMD...: CMD inside the Debian 13 root's mount namespace (the
# holder's; setns makes its "/" the root).
podman5_enter() { nsenter --mount="/proc/$PODMAN5_HOLDER/ns/mnt" -- "$@"; }

# podman5_root_up: the holder process and its mount namespace (see above).
podman5_root_up() {
  local r=$T/root
  mkdir -p "$r" "$T/bin" "$T/tmp" "$T/xdg" "$T/home"
  # (resolv.conf: bridge_lib.sh's, naming the world's DNS server)
  cp "$T/resolv.conf" "$T/root-resolv.conf"
  echo "root:1:65535" >"$T/root-subid"
  unshare --mount --propagation private bash -euc '
    T=$1 TRIXIE_ROOT=$2 r=$1/root
    mount --bind "$TRIXIE_ROOT" "$r"
    mount -o remount,bind,ro "$r"
    mount --rbind /dev "$r/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"   # podman locks: shared memory
    mount --rbind /proc "$r/proc"
    mount --rbind /sys "$r/sys"
    for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$r/$d"; done
    mkdir -p "$r$T"
    mount --bind "$T" "$r$T"
    mount --bind "$T/root-resolv.conf" "$r/etc/resolv.conf"
    mount --bind "$T/root-subid" "$r/etc/subuid"
    mount --bind "$T/root-subid" "$r/etc/subgid"
    cd "$r"
    pivot_root . .
    umount -l .
    cd /
    mount --make-rshared /
    touch "$T/root-ready"
    exec sleep 100000
  ' podman5-root "$T" "$TRIXIE_ROOT" >>"$T/root.log" 2>&1 &
  PODMAN5_HOLDER=$!
  disown "$PODMAN5_HOLDER"  # (ended at exit with the rest, without a "Killed" line)
  for ((i = 0; i < 100; i++)); do
    [[ -e "$T/root-ready" ]] && break
    kill -0 "$PODMAN5_HOLDER" 2>/dev/null || break
    sleep 0.05
  done
  [[ -e "$T/root-ready" ]] || fail "the Debian 13 root did not come up: $(cat "$T/root.log")"
  cat >"$PODMAN" <<EOF
#!/bin/sh
exec nsenter --mount=/proc/$PODMAN5_HOLDER/ns/mnt -- env PODMAN_IGNORE_CGROUPSV1_WARNING=1 podman "\$@"
EOF
  chmod +x "$PODMAN"
}

# podman5_conf [PASTA_OPTIONS]: containers.conf for helpers of $PODMAN5_IMPL;
# PASTA_OPTIONS is the inside of a TOML list (e.g. '"--map-gw"').
podman5_conf() {
  cat >"$T/containers.conf" <<EOF
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
image_copy_tmp_dir = "$T/tmp"
helper_binaries_dir = ["$T/helpers-$PODMAN5_IMPL"]
[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
default_rootless_network_cmd = "pasta"
pasta_options = [${1:-}]
EOF
}

# podman5_impl debian|netd: podman runs that implementation's pasta and
# aardvark-dns from now on.
podman5_impl() {
  case $1 in
    debian | netd) PODMAN5_IMPL=$1 ;;
    *) fail "podman5_impl: unknown implementation '$1' (debian or netd)" ;;
  esac
  podman5_conf
}

podman5_setup() {
  if [[ ! -f "$TRIXIE_ROOT/.stamp" || ! -x "$TRIXIE_ROOT/usr/bin/podman" ]]; then
    skip "no Debian 13 root with podman 5 at $TRIXIE_ROOT (as root: scripts/make-trixie-root.sh," \
      "or scripts/install-deps.sh --with-podman5)"
  fi
  # pasta copies the host's default route (and address) for its namespaces.
  [[ -n "$WORLD" ]] || fail "podman5_setup: call world_up first"
  ip route replace default via 198.51.100.10 dev veth-h
  podman5_root_up
  local h
  for h in debian netd; do mkdir -p "$T/helpers-$h"; done
  ln -s /usr/bin/pasta "$T/helpers-debian/pasta"
  ln -s /usr/lib/podman/aardvark-dns "$T/helpers-debian/aardvark-dns"
  cp "$NETD_REAL" "$T/bin/netd"
  NETD_IN_ROOT=$T/bin/netd
  ln -s "$NETD_IN_ROOT" "$T/helpers-netd/pasta"
  ln -s "$NETD_IN_ROOT" "$T/helpers-netd/aardvark-dns"
  for h in debian netd; do
    ln -s /usr/lib/podman/netavark "$T/helpers-$h/netavark"
    ln -s /usr/libexec/podman/rootlessport "$T/helpers-$h/rootlessport"
  done
  podman5_impl "${PODMAN5_IMPL:-debian}"
  podman_state
  # Podman 5 also wants the user's own uid outside the namespace, non-zero
  # (_CONTAINERS_ROOTLESS_UID, which it sets itself when it re-executes): with
  # 0 it acts as root. For a root caller any other uid does; it only names
  # podman's default paths, which $T replaces.
  local uid=$NETD_HARNESS_OUTER_UID
  [[ $uid != 0 ]] || uid=1000
  export _CONTAINERS_ROOTLESS_UID=$uid _CONTAINERS_ROOTLESS_GID=$uid
  trap podman_exit EXIT
  [[ "$(pm info --format '{{.Host.Security.Rootless}}')" == true ]] || pm_fail "podman 5 does not run rootless"
}

# podman5_impls: the implementations a test runs its steps for, in order:
# Debian 13's own pasta and aardvark-dns first (the harness' self-check),
# then netd. PODMAN5_IMPLS overrides the list (e.g. PODMAN5_IMPLS=netd).
podman5_impls() { echo "${PODMAN5_IMPLS:-debian netd}"; }

# podman5_procs NAME...: the processes whose command name is one of NAMEs
# (pasta's amd64 build re-executes itself as pasta.avx2: that counts as
# pasta), as "PID EXE ARGS" lines, EXE as seen inside the root (Debian's
# binary or the netd copy); not a child that has the same name as its parent
# (netd's clean-up helper, pasta's own forks), nor a zombie.
podman5_procs() {
  local p comm pcomm ppid exe want=" $* "
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    [[ "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$p/status" 2>/dev/null)" != Z ]] || continue
    comm=${comm%.avx2}
    [[ "$want" == *" $comm "* ]] || continue
    ppid=$(sed -n 's/^PPid:\s*//p' "/proc/$p/status" 2>/dev/null) || continue
    pcomm=$(cat "/proc/$ppid/comm" 2>/dev/null || true)
    [[ "${pcomm%.avx2}" == "$comm" ]] && continue
    # A confined netd's exe link reads as a path inside its own (empty)
    # root, e.g. /bin/netd: the file itself (device and inode) says which it is.
    exe=$(podman5_enter readlink "/proc/$p/exe" 2>/dev/null || echo '?')
    if [[ -n "${NETD_IN_ROOT:-}" ]] && podman5_enter test "/proc/$p/exe" -ef "$NETD_IN_ROOT" 2>/dev/null; then
      exe=$NETD_IN_ROOT
    fi
    echo "$p $exe $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
  return 0
}

# podman5_none_left: within 10 s, no pasta, aardvark-dns, netd (nor its
# clean-up helper), conmon or rootlessport process runs and podman's network namespace files are gone
# (each container's under $XDG_RUNTIME_DIR/netns, the rootless netns'); fails
# naming what is left.
podman5_none_left() {
  local left files
  for ((i = 0; i < 100; i++)); do
    left=$(podman5_procs pasta aardvark-dns netd netd-cleanup conmon rootlessport)
    files=$(find "$XDG_RUNTIME_DIR/netns" "$XDG_RUNTIME_DIR/containers/networks/rootless-netns" \
      -mindepth 1 2>/dev/null || true)
    [[ -z "$left$files" ]] && return 0
    sleep 0.1
  done
  fail "left behind after the containers and networks went: ${left:+processes: $left }${files:+files: $files}"
}
