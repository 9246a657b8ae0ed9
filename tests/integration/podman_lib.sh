# Rootless podman inside the namespace harness, for tests/integration/test_podman.sh
# and bench/podman_measure.sh. Source after lib.sh and bridge_lib.sh (which
# points /etc/resolv.conf at the world's DNS server):
#
#   NETD_HARNESS_SUBIDS=1
#   source .../lib.sh; source .../bridge_lib.sh; source .../podman_lib.sh
#   podman_setup                      # or fail with the reason
#   podman_image localhost/x [BIN...] # busybox (+ BINs) and their libraries
#   pm run --pull=never ...           # podman, its stderr in $PODMAN_LOG
#
# Theory of operation. podman runs as root of the harness' user namespace
# with _CONTAINERS_USERNS_CONFIGURED set: that is the state podman itself is
# in after it re-executes into the user namespace it builds for a rootless
# user (uid 0 there is the user, the subordinate ids the rest, which
# NETD_HARNESS_SUBIDS gives the harness namespace too), so it behaves as
# rootless podman: slirp4netns for --network slirp4netns and for the rootless
# netns of bridge networks, rootlessport, netavark inside that netns.
# Everything it keeps is under $T: containers.conf, storage.conf (driver
# vfs), an empty registries.conf, its run, tmp, XDG and HOME directories; its
# shared-memory locks go to a private /dev/shm. Images are made from host
# binaries (podman import of a tarball) and every run says --pull=never:
# nothing is ever fetched.
#
# netd stands in for slirp4netns (containers.conf network_cmd_path ->
# $T/bin/slirp4netns, a symlink to netd; podman_network_cmd switches it) and
# for aardvark-dns (helper_binaries_dir = $T/helpers, holding aardvark-dns ->
# netd next to Debian's netavark and rootlessport).

PODMAN_LOG=$T/podman.log
NETD_REAL=$(readlink -f "$NETD_BIN")
# The podman command: Debian 12's podman here; podman5_lib.sh (which sources
# this file for pm, podman_image and the clean-up) names its own.
PODMAN=${PODMAN:-podman}

# pm ARGS...: podman, its stderr appended to $PODMAN_LOG; ended after
# $PODMAN_TIMEOUT seconds (60) with the processes then running logged, so a
# helper that keeps podman waiting (e.g. one that never closes the output
# podman reads) fails the step that hung, not the whole test's time limit.
pm() {
  local rc=0
  timeout -k 5 "${PODMAN_TIMEOUT:-60}" "$PODMAN" "$@" 2>>"$PODMAN_LOG" || rc=$?
  if ((rc == 124 || rc == 137)); then
    {
      echo "podman $*: no answer within ${PODMAN_TIMEOUT:-60} s; ended it. Processes then:"
      ps -eo pid,ppid,stat,args | cut -c1-300
    } >>"$PODMAN_LOG"
  fi
  return "$rc"
}
# pm_rm_each [OPTIONS] NAME...: `podman rm` of one container at a time
# (options one word each: --time=0, not -t 0).
# podman removes several names in parallel, and in 4.3 the jobs race over the
# storage's mounts: now and then one fails with "unlinkat .../userdata/shm:
# device or resource busy" (a known podman flake, its issues 10454 and 11594;
# seen once in our CI). One name per call does not run that race. Stops at
# the first failure.
pm_rm_each() {
  local opts=() name
  while [[ "${1:-}" == -* ]]; do opts+=("$1"); shift; done
  for name in "$@"; do
    pm rm "${opts[@]}" "$name" >/dev/null || return 1
  done
}
# pm_fail MSG: fail, showing what podman said last.
pm_fail() {
  tail -n 20 "$PODMAN_LOG" >&2
  fail "$@"
}

# podman_network_cmd PATH [OPTIONS]: the binary podman runs as slirp4netns
# from now on, and containers.conf's network_cmd_options (a TOML list's
# inside, e.g. '"outbound_addr=198.51.100.2"': the default options of
# --network slirp4netns and the options of the rootless netns' instance).
podman_network_cmd() {
  cat >"$T/containers.conf" <<EOF
[containers]
cgroups = "disabled"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
image_copy_tmp_dir = "$T/tmp"
network_cmd_path = "$1"
network_cmd_options = [${2:-}]
helper_binaries_dir = ["$T/helpers"]
[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
EOF
}

# At exit (also after a failure), before lib.sh's clean-up removes $T:
# podman's containers go, then every process still running in this pid
# namespace (conmon, podman's clean-up commands, netd) is ended by pid, so
# nothing writes into $T while it is removed. Only ever inside the harness'
# own pid namespace, where this shell is pid 1 and every other process was
# started here: anywhere else it does nothing.
podman_teardown() {
  [[ -n "${NETD_HARNESS_INNER:-}" && $$ == 1 && "$(readlink /proc/1/ns/pid)" == "$(readlink /proc/self/ns/pid)" ]] ||
    return 0
  timeout 30 "$PODMAN" rm -f -a -t 0 >>"$PODMAN_LOG" 2>&1 || true
  local p pids=()
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == 1 || $p == "$$" || $p == "$BASHPID" || " ${PIDS[*]} " == *" $p "* ]] && continue
    pids+=("$p")
  done
  # (some may have exited since the listing: kill's failure is no failure)
  ((${#pids[@]} == 0)) || kill -9 "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    for p in "${pids[@]}"; do gone "$p" || continue 2; done
    break
  done
  return 0
}

# The EXIT trap: podman's clean-up, then lib.sh's with the test's status.
podman_exit() {
  local rc=$?
  set +e  # (errexit would end the trap at the status hand-over below)
  podman_teardown
  (exit "$rc")
  cleanup
}

# podman_state: podman's storage (vfs), registries (none), run, tmp, XDG and
# HOME directories under $T, in its environment.
podman_state() {
  cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$T/storage"
runroot = "$T/runroot"
EOF
  : >"$T/registries.conf"
  export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$T/registries.conf XDG_RUNTIME_DIR=$T/xdg XDG_CONFIG_HOME=$T/home/.config \
    XDG_DATA_HOME=$T/home/.local/share HOME=$T/home TMPDIR=$T/tmp _CONTAINERS_USERNS_CONFIGURED="done"
}

podman_setup() {
  need_tools podman
  [[ -x /usr/lib/podman/netavark ]] || skip "netavark is not installed (scripts/install-deps.sh installs it)"
  # crun 1.8 refuses every container on a "hybrid" cgroup host (v1
  # controllers plus a cgroup2 mount at /sys/fs/cgroup/unified that has a
  # controller enabled) with "cgroups in hybrid mode not supported, drop all
  # controllers from cgroupv2", even with --cgroups=disabled: its check comes
  # before the cgroup manager is consulted. A rootless container gets no
  # cgroup on a v1 host anyway, so this mount namespace hides the v2 mount
  # behind an empty tmpfs and crun sees a plain v1 host. (podman's
  # documented way around it is `runtime = "runc"` in containers.conf.)
  if [[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" == tmpfs &&
    "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" == cgroup2fs &&
    -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]]; then
    log "hybrid cgroups with controllers in /sys/fs/cgroup/unified ($(cat /sys/fs/cgroup/unified/cgroup.controllers)): hidden from crun in this mount namespace"
    mount -t tmpfs none /sys/fs/cgroup/unified
  fi
  # podman's locks are shared memory (/dev/shm/libpod_rootless_lock_UID).
  mount -t tmpfs -o mode=1777 tmpfs /dev/shm

  mkdir -p "$T/bin" "$T/helpers" "$T/xdg" "$T/home" "$T/tmp"
  ln -s "$NETD_REAL" "$T/bin/slirp4netns"
  ln -s "$NETD_REAL" "$T/helpers/aardvark-dns"
  ln -s /usr/lib/podman/netavark "$T/helpers/netavark"
  ln -s /usr/lib/podman/rootlessport "$T/helpers/rootlessport"
  podman_network_cmd "$T/bin/slirp4netns"
  podman_state
  trap podman_exit EXIT
  [[ "$(pm info --format '{{.Host.Security.Rootless}}')" == true ]] || pm_fail "podman does not run rootless"
}

# http ADDR PORT [in_world]: the cgi's answer (the client address the server saw).
http() {
  ${3:-} "$PY" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' \
    "http://$1:$2/cgi-bin/ip"
}
# http_retry ADDR PORT [in_world]: the same, while a fresh port comes up (10 s).
http_retry() {
  local out
  for ((i = 0; i < 100; i++)); do
    out=$(http "$@" 2>/dev/null) && { echo "$out"; return 0; }
    sleep 0.1
  done
  http "$@"
}

# podman_bridge_pair WORLD_SEEN WHAT: on network n1 (10.89.7.0/24), web
# (10.89.7.2, an httpd on port 80) and cli (10.89.7.3) resolve each other's
# names, cli reaches web's cgi by name (which sees 10.89.7.3), the world
# host's tcp-server at 198.51.100.10:7001 (which must see WORLD_SEEN, else
# "fail WHAT") and a name forwarded to the world's DNS server (name.test).
podman_bridge_pair() {
  local out back
  out=$(pm exec cli sh -c \
    'nslookup web; printf "GET /cgi-bin/ip HTTP/1.0\r\n\r\n" | nc -w 5 web 80; echo WHO | nc -w 5 198.51.100.10 7001; nslookup name.test; true') ||
    pm_fail "client container on n1: $out"
  grep -A1 "^Name:.*web" <<<"$out" | grep -q "Address: 10.89.7.2" || fail "web does not resolve to 10.89.7.2: $out"
  back=$(pm exec web nslookup -type=a cli) || pm_fail "nslookup cli in web: $back"
  grep -A1 "^Name:.*cli" <<<"$back" | grep -q "Address: 10.89.7.3" || fail "cli does not resolve to 10.89.7.3 in web: $back"
  grep -qx "10.89.7.3" <<<"$out" || fail "web's server did not see the client's address 10.89.7.3: $out"
  grep -q "^$1 " <<<"$out" || fail "$2 $1: $out"
  grep -q "192.0.2.55" <<<"$out" || fail "a forwarded name did not resolve: $out"
}

# podman_image NAME [BIN...]: import an image holding the host's busybox (sh,
# nc, nslookup, httpd, ip, sleep, cat), the given binaries, and the libraries
# they link; /www/cgi-bin/ip answers an HTTP client's address (httpd's
# REMOTE_ADDR, "[::ffff:10.0.2.2]" written as 10.0.2.2).
# (Debian's busybox-static would have made a one-file image, but it conflicts
# with the busybox package the other tests use, so the image takes the
# dynamic busybox and its libraries.)
# (Clients in the container use nc for HTTP: this busybox's wget died of
# SIGSEGV resolving a name in a podman container, where nc and nslookup
# resolved it through the same server; not looked into further.)
podman_image() {
  local name=$1 r=$T/rootfs.$RANDOM bin lib a
  shift
  mkdir -p "$r/bin" "$r/www/cgi-bin" "$r/etc" "$r/tmp"
  chmod 1777 "$r/tmp"
  for bin in /usr/bin/busybox "$@"; do
    cp -L "$bin" "$r/bin/"
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
      mkdir -p "$r$(dirname "$lib")"
      cp -L "$lib" "$r$lib"
    done
  done
  for a in sh nc nslookup httpd ip sleep cat; do ln -s busybox "$r/bin/$a"; done
  cat >"$r/www/cgi-bin/ip" <<'EOF'
#!/bin/sh
a=${REMOTE_ADDR#[}
a=${a%]}
printf 'Content-Type: text/plain\r\n\r\n%s\n' "${a#::ffff:}"
EOF
  chmod +x "$r/www/cgi-bin/ip"
  echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
  echo "hosts: files dns" >"$r/etc/nsswitch.conf"
  tar -C "$r" -cf "$r.tar" .
  pm import "$r.tar" "$name" >/dev/null || pm_fail "podman import $name"
  rm -rf "$r" "$r.tar"
}
