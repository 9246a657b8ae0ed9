# Namespace harness for netd's integration tests. Source it first thing:
#
#   source "$(dirname "$0")/lib.sh"
#
# It re-executes the test inside a fresh user + network + pid + mount
# namespace: the "host" namespace netd runs in (works as root and as an
# unprivileged user). When the test ends, the pid namespace ends with it, so
# no process the test started can outlive it; the trap also kills each by pid.
#
#   [container ns] --tap0--> netd (host ns) --veth--> [world ns] 198.51.100.10
#                                 127.0.0.1 servers here (host loopback)
#
# Traffic goes only to namespaces made here: never any other address.
# Environment: NETD_BIN (the netd binary), NETD_SRC (the source tree),
# NETD_TEST_NO_URING (the epoll variant: below).
#
# NETD_HARNESS_SUBIDS=1 (set before sourcing): the harness namespace also maps
# a block of 65535 subordinate ids (newuidmap, /etc/subuid), and inside it
# /etc/subuid and /etc/subgid give them to root, so a tool that makes user
# namespaces of its own with newuidmap (RootlessKit) works as it does for a
# rootless user. Root usually has no /etc/subuid entry: for a root caller the
# harness lends it one, in a private mount namespace only.

set -euo pipefail

if [[ -z "${NETD_HARNESS_INNER:-}" ]]; then
  : "${NETD_BIN:?NETD_BIN must point to the netd binary}"
  # Outer uid decides how netd runs inside: a non-root outer user gets a netd
  # with every capability dropped, as in real rootless use.
  export NETD_HARNESS_OUTER_UID
  NETD_HARNESS_OUTER_UID=$(id -u)
  ns=(unshare --user --map-root-user --net --pid --mount --fork --mount-proc
    env NETD_HARNESS_INNER=1 bash "$0" "$@")
  if [[ -n "${NETD_HARNESS_SUBIDS:-}" ]]; then
    ns=(unshare --user --map-root-user --map-auto --net --pid --mount --fork --mount-proc
      env NETD_HARNESS_INNER=1 bash "$0" "$@")
    if [[ $NETD_HARNESS_OUTER_UID == 0 ]]; then
      subid=$(mktemp /tmp/netd-subid.XXXXXX)
      echo "root:100000:65536" >"$subid"
      # (removed only afterwards: the harness mounts over these paths, which
      # the kernel refuses for a bind mount of a deleted file)
      ns=(unshare --mount --propagation private sh -c \
        'mount --bind "$0" /etc/subuid && mount --bind "$0" /etc/subgid && "$@"; rc=$?; rm -f "$0"; exit $rc' \
        "$subid" "${ns[@]}")
    fi
  fi
  if [[ -n "${NETD_HARNESS_INTERACTIVE:-}" ]]; then
    exec "${ns[@]}"  # the demo's shell: no time limit, keeps the terminal
  fi
  exec timeout --kill-after=5 "${NETD_TEST_TIMEOUT:-240}" "${ns[@]}"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVERS="$HERE/servers.py"
PY=/usr/bin/python3

# The epoll variant (NETD_TEST_NO_URING=1: the integration_epoll.* tests of
# tests/CMakeLists.txt): the whole test runs under no_uring.py's seccomp
# filter, which refuses io_uring as the default profiles of Docker and
# containerd do, so every netd the test starts must fall back to its epoll
# loop; pass() then insists that netd's log says it did (the line below,
# logged once per data plane). NETD_EVENT_LOOP is cleared: the fallback must
# be the host's doing, not a forced choice.
EPOLL_FALLBACK='; using epoll instead'
if [[ -n "${NETD_TEST_NO_URING:-}" && -z "${NETD_HARNESS_NO_URING_ON:-}" ]]; then
  export NETD_HARNESS_NO_URING_ON=1
  unset NETD_EVENT_LOOP
  exec "$PY" "$HERE/no_uring.py" bash "$0" "$@"
fi
T=$(mktemp -d /tmp/netd-it.XXXXXX)
PIDS=()
FAILED=0
WORLD=""
CTR=""
NETD_PID=""
NETD_LOG="$T/netd.log"

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ $rc -ne 0 || $FAILED -ne 0 ]] && [[ -f "$NETD_LOG" ]]; then
    echo "---- netd log ----" >&2
    tail -n 50 "$NETD_LOG" >&2 || true
  fi
  # Tests may bind-mount netns files under $T (this mount namespace dies with
  # the test, but the directory lives in the real /tmp).
  awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "[$(date +%T)] FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

log() { echo "[$(date +%T)] $*" >&2; }
fail() {
  log "FAIL: $*"
  FAILED=1
  exit 1
}
ok() { log "ok: $*"; }

# skip REASON: the test cannot run here (a tool or prerequisite is missing):
# says SKIP and exits 77, which ctest reports as skipped, never as passed.
# With NETD_NO_SKIP=1 (CI, which installs everything: .ci/run) a skip is a
# failure instead, so CI cannot pass a test it did not run.
skip() {
  if [[ -n "${NETD_NO_SKIP:-}" ]]; then
    log "FAIL: would skip ($*), but NETD_NO_SKIP is set (CI installs every tool: scripts/install-deps.sh)"
    FAILED=1
    exit 1
  fi
  log "SKIP: $*"
  exit 77
}
# need_tools TOOL...: skip unless every TOOL is on PATH.
need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  ((${#missing[@]} == 0)) || skip "not installed: ${missing[*]} (scripts/install-deps.sh installs them)"
}

# grep_or_none ARGS...: grep for filtering what a check then looks at: "no
# line matched" (status 1) is an answer too, but an error (status 2, e.g. a
# bad expression) still fails the test, so the check cannot pass vacuously.
grep_or_none() { grep "$@" || (($? == 1)); }

# Runs "$@" until it succeeds, at most N times, 0.1 s apart.
retry() {
  local n=$1
  shift
  for ((i = 0; i < n; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# wait_ns PID TYPE: until PID (an unshare just started) is in its own
# namespace of TYPE, not ours any more.
wait_ns() {
  local mine
  mine=$(readlink "/proc/self/ns/$2")
  for ((i = 0; i < 50; i++)); do
    local theirs
    theirs=$(readlink "/proc/$1/ns/$2" 2>/dev/null || true)
    [[ -n "$theirs" && "$theirs" != "$mine" ]] && return 0
    sleep 0.05
  done
  return 1
}

# What every test uses: namespaces and links (util-linux, iproute2), the
# test peers (python3), a DHCP client and ping (busybox, iputils-ping).
need_tools ip nsenter unshare setpriv busybox ping python3
ip link set lo up
if [[ -n "${NETD_HARNESS_SUBIDS:-}" ]]; then
  echo "root:1:65535" >"$T/subid"
  mount --bind "$T/subid" /etc/subuid
  mount --bind "$T/subid" /etc/subgid
fi
# Ping sockets for netd's group (gid 0 in this namespace), as on distributions
# that allow unprivileged ping.
sysctl -qw net.ipv4.ping_group_range="0 0"

# world_up: the world namespace behind a veth, 198.51.100.10/24 (host side .1).
world_up() {
  unshare --net sleep 1000 &
  WORLD=$!
  PIDS+=("$WORLD")
  wait_ns "$WORLD" net || fail "world namespace did not appear"
  ip link add veth-h type veth peer name veth-w netns "$WORLD"
  ip addr add 198.51.100.1/24 dev veth-h
  ip link set veth-h up
  in_world ip link set lo up
  in_world ip addr add 198.51.100.10/24 dev veth-w
  in_world ip link set veth-w up
  in_world ip route add default via 198.51.100.1
  retry 30 ping -c1 -W1 198.51.100.10 || fail "world host not reachable from the host namespace"
}

in_world() { nsenter --net="/proc/$WORLD/ns/net" -- "$@"; }

# world_ipv6_up: IPv6 on the world link (after world_up): the world host is
# 2001:db8::10/64, the host side 2001:db8::1 (documentation prefix, RFC 3849;
# it exists only on this veth). nodad: usable at once.
world_ipv6_up() {
  ip addr add 2001:db8::1/64 dev veth-h nodad
  in_world ip addr add 2001:db8::10/64 dev veth-w nodad
  in_world ip -6 route add default via 2001:db8::1
  retry 30 ping -6 -c1 -W1 2001:db8::10 || fail "world host not reachable over IPv6 from the host namespace"
}

# host_uplink_up: the host namespace looks like a real host behind a router
# (after world_up): default routes (IPv4 and IPv6) via the world host, which
# netd pasta copies; IPv6 on the world link.
host_uplink_up() {
  world_ipv6_up
  ip route add default via 198.51.100.10
  ip -6 route add default via 2001:db8::10
}

# wait_listening PORT [CMD-PREFIX...]: until something listens on PORT (TCP
# or UDP) in the namespace the prefix runs in; servers start in the background.
wait_listening() {
  local port=$1
  shift
  for ((i = 0; i < 100; i++)); do
    if "$@" ss -Hltun "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.05
  done
  fail "nothing listens on port $port"
}

# world_server MODE PORT [ADDR]: a servers.py peer on 198.51.100.10 (or ADDR,
# e.g. 2001:db8::10); SERVER_PID is the peer's own pid (nsenter execs it), so
# a test can kill exactly it.
world_server() {
  nsenter --net="/proc/$WORLD/ns/net" -- "$PY" "$SERVERS" "$1" "${3:-198.51.100.10}" "$2" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_listening "$2" in_world
}
# host_server MODE PORT [ADDR]: a servers.py peer on the host's 127.0.0.1 (or ADDR, e.g. ::1).
host_server() {
  "$PY" "$SERVERS" "$1" "${3:-127.0.0.1}" "$2" &
  PIDS+=("$!")
  wait_listening "$2" env
}

# container_up: a container namespace (own user + net namespace), tap-less.
container_up() {
  unshare --user --map-root-user --net sleep 1000 &
  CTR=$!
  PIDS+=("$CTR")
  wait_ns "$CTR" user || fail "container user namespace did not appear"
  wait_ns "$CTR" net || fail "container namespace did not appear"
  # Entering before unshare has written the uid map fails with EPERM: wait
  # for its exec of sleep, which comes after.
  for ((i = 0; i < 100; i++)); do
    [[ "$(cat "/proc/$CTR/comm" 2>/dev/null)" == sleep ]] && break
    sleep 0.02
  done
  in_ctr ip link set lo up
}

in_ctr() {
  nsenter --preserve-credentials --user="/proc/$CTR/ns/user" --net="/proc/$CTR/ns/net" -- "$@"
}
# in_ctr_bg CMD...: in_ctr in the background; BG_PID is CMD's own pid (nsenter
# execs it), so a test can kill exactly that process.
in_ctr_bg() {
  nsenter --preserve-credentials --user="/proc/$CTR/ns/user" --net="/proc/$CTR/ns/net" -- "$@" &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# wait_slaac [PREFIX]: prints the container's global address on tap0 in
# PREFIX (default fd00::) once duplicate address detection finished; fails
# after 20 s.
wait_slaac() {
  local a
  for ((i = 0; i < 100; i++)); do
    a=$(in_ctr ip -6 -o addr show dev tap0 scope global | grep -v tentative |
      grep -o "${1:-fd00::}[0-9a-f:]*/64" || true)
    if [[ -n "$a" ]]; then
      echo "$a"
      return 0
    fi
    sleep 0.2
  done
  fail "no SLAAC address on tap0: $(in_ctr ip -6 addr show dev tap0)"
}

# run_netd_ready ARGS...: start "$NETD_BIN" ARGS... in the background with fd 3
# as its ready fd (and fd 5 reading $NETD_EXIT_PIPE, /dev/null when unset),
# capabilities dropped for an unprivileged outer user; wait for the ready byte.
run_netd_ready() {
  local fifo="$T/ready"
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {ready_fd}<>"$fifo"
  local run=()
  if [[ "$NETD_HARNESS_OUTER_UID" != 0 ]]; then
    run=(setpriv --bounding-set=-all --inh-caps=-all)
  fi
  "${run[@]}" "$NETD_BIN" "$@" 3>"$fifo" 5<"${NETD_EXIT_PIPE:-/dev/null}" >>"$NETD_LOG" 2>&1 &
  NETD_PID=$!
  PIDS+=("$NETD_PID")
  local byte=""
  read -r -t 10 -n 1 byte <&"$ready_fd" || true
  exec {ready_fd}<&-
  [[ "$byte" == "1" ]] || fail "netd $1 did not become ready (got '$byte')"
}

# assert_confined PID WHAT [KEPT_PATH...]: PID runs in netd's sandbox
# (docs/security.md): NoNewPrivs, a seccomp filter, no capability but
# CAP_NET_BIND_SERVICE, an empty bounding set, and a root that holds nothing
# but the KEPT_PATHs (netd dns: its configuration). Waits up to 2 s for the
# process to enter it (a pid file may come just before).
assert_confined() {
  local pid=$1 what=$2 i status
  shift 2
  for ((i = 0; i < 20; i++)); do
    status=$(cat "/proc/$pid/status") || fail "$what: no process $pid"
    [[ "$(awk '$1 == "NoNewPrivs:" {print $2}' <<<"$status")" == 1 ]] && break
    sleep 0.1
  done
  local -A f
  local k v
  while read -r k v _; do f[${k%:}]=$v; done <<<"$status"
  [[ "${f[NoNewPrivs]}" == 1 && "${f[Seccomp]}" == 2 ]] ||
    fail "$what: NoNewPrivs ${f[NoNewPrivs]}, Seccomp ${f[Seccomp]} (want 1 and 2)"
  if (((16#${f[CapEff]} | 16#${f[CapPrm]}) & ~0x400)) || [[ "${f[CapBnd]}" != 0000000000000000 ]]; then
    fail "$what: capabilities left: CapEff ${f[CapEff]} CapPrm ${f[CapPrm]} CapBnd ${f[CapBnd]}"
  fi
  local allowed=() p entry
  for p in "$@"; do p=${p#/}; allowed+=("${p%%/*}"); done
  for entry in $(ls -A "/proc/$pid/root/"); do
    [[ " ${allowed[*]} " == *" $entry "* ]] || fail "$what: its root holds $entry"
  done
  [[ ! -e "/proc/$pid/root/etc/passwd" && ! -e "/proc/$pid/root/proc/1" ]] || fail "$what: host files in its root"
  ok "$what: confined (NoNewPrivs, seccomp filter, no capabilities, root holding ${*:-nothing})"
}

# netd_attach [ARGS...]: start `netd attach ARGS... $CTR` and wait for its
# ready byte. DNS goes to the world's test server unless ARGS say otherwise.
netd_attach() { run_netd_ready attach --ready-fd 3 "$@" "$CTR"; }

# netd_slirp4netns [ARGS...]: `netd slirp4netns -r 3 ARGS...` (with `-e 5`
# reading $NETD_EXIT_PIPE when that is set), until ready.
netd_slirp4netns() {
  local exit_fd=()
  if [[ -n "${NETD_EXIT_PIPE:-}" ]]; then exit_fd=(-e 5); fi
  run_netd_ready slirp4netns -r 3 "${exit_fd[@]}" "$@"
}

# wait_exit PID SECONDS: until PID exits (bounded); its exit status in $EXIT_RC.
wait_exit() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && return 1
  EXIT_RC=0
  wait "$1" 2>/dev/null || EXIT_RC=$?  # (127 for a daemon that is not our child)
  return 0
}

# dhcp_lease: run busybox udhcpc on tap0 in the container, apply the lease.
dhcp_lease() {
  cat >"$T/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ip -4 addr flush dev "$interface"  # not IPv6: the link-local address stays for SLAAC
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    echo "$dns" > "$LEASE_DNS_FILE"
    ;;
esac
exit 0
SCRIPT
  chmod +x "$T/udhcpc.sh"
  in_ctr ip link set tap0 up
  LEASE_DNS_FILE="$T/lease-dns" in_ctr busybox udhcpc -i tap0 -f -q -n -t 5 -T 1 -s "$T/udhcpc.sh" \
    >>"$T/udhcpc.log" 2>&1 || { cat "$T/udhcpc.log" >&2; fail "udhcpc got no lease"; }
}

# netd_counter NAME: the latest value of a counter netd logged (SIGUSR1).
netd_counter() {
  kill -USR1 "$NETD_PID"
  local line=""
  for ((i = 0; i < 30; i++)); do
    sleep 0.1
    line=$(grep -o '"'"$1"'":[0-9]*' "$NETD_LOG" | tail -n1 || true)
    [[ -n "$line" ]] && break
  done
  echo "${line#*:}"
}

# every_queue_carried WHAT LOG N: each of N tap queues has a "queue I:
# frames in K" line in LOG (netd logs one per queue with its counters, on
# SIGUSR1 and as it stops) whose latest K is above 0; fails naming WHAT
# otherwise. QUEUE_LINES: the queues' latest lines, ';'-joined.
every_queue_carried() {
  local what=$1 log=$2 n=$3 q line
  for ((q = 0; q < n; q++)); do
    line=$(grep -o "queue $q: frames in [0-9]*" "$log" | tail -n1)
    [[ -n "$line" && "${line##* }" -gt 0 ]] || fail "$what: queue $q carried nothing ($line)"
  done
  QUEUE_LINES=$(grep -o 'queue [0-9]: frames in [0-9]*, out [0-9]*' "$log" | tail -n "$n" | tr '\n' ';')
}

# without_loop_note TEXT: TEXT without netd's epoll fallback line, for a
# check that wants a quiet netd silent (pasta's --quiet still shows
# warnings). Only the epoll variant expects the line; there it also goes to
# $NETD_LOG, where pass() looks for it.
without_loop_note() {
  if [[ -z "${NETD_TEST_NO_URING:-}" ]]; then
    printf '%s' "$1"
    return
  fi
  grep_or_none -F -- "$EPOLL_FALLBACK" <<<"$1" >>"$NETD_LOG"
  grep_or_none -vF -- "$EPOLL_FALLBACK" <<<"$1"
}

pass() {
  if [[ -n "${NETD_TEST_NO_URING:-}" ]]; then
    local note
    note=$(grep -m1 -F -- "$EPOLL_FALLBACK" "$NETD_LOG" 2>/dev/null) ||
      fail "io_uring was refused, yet netd's log ($NETD_LOG) never says it fell back to epoll"
    ok "netd ran on epoll, io_uring refused by a seccomp filter: $note"
  fi
  log "PASS: $(basename "$0")"
  exit 0
}
