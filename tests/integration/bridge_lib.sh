# Helpers for the bridge network tests (`netd network`). Source after lib.sh:
#
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/bridge_lib.sh"
#
# Networks, state and the rootless netns live under this test's $T. The
# rootless netns' outward engine reads /etc/resolv.conf for its DNS forwarder:
# in this test's mount namespace that file names the world's DNS server
# (198.51.100.10), so no query ever reaches a real resolver. netd network runs
# as the test user without setpriv: its helpers (the DNS server) exec inside
# the rootless netns and need the capabilities a user namespace grants, which
# an emptied bounding set would take away (a real user's shell has them).

export NETD_CONFIG_DIR=$T/config NETD_RUNTIME_DIR=$T/run
NETD=$NETD_BIN
printf 'nameserver 198.51.100.10\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf

# mkctr: a container namespace (own user + net namespace); its pid in CTR.
mkctr() { container_up; }
# in_c PID CMD...: run CMD in container PID's namespaces.
in_c() {
  local pid=$1
  shift
  nsenter --preserve-credentials --user="/proc/$pid/ns/user" --net="/proc/$pid/ns/net" -- "$@"
}
ping_ok() { in_c "$1" ping -c 1 -W 2 "$2" >/dev/null 2>&1; }
# rn CMD...: run CMD inside the rootless netns (without the banner).
rn() { "$NETD" rootless-netns "$@" 2>/dev/null; }
# nft_table: table inet netd as the real nft binary lists it in the rootless netns.
nft_table() { rn nft list table inet netd; }
# host_veth NET CTR: the host-side veth netd recorded for CTR on NET.
host_veth() {
  "$NETD" network inspect "$1" | "$PY" -c '
import json, sys
for c in json.load(sys.stdin)["containers"]:
    if c["name"] == sys.argv[1]: print(c["host_veth"])' "$2"
}
# rootless_pid FIELD: a pid from the rootless netns record (pid, attach_pid).
rootless_pid() {
  "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$NETD_RUNTIME_DIR/rootless-netns.json" "$1"
}
# gone PID: true once PID no longer runs (or is a zombie), waiting up to 3 s.
gone() {
  local st
  for ((i = 0; i < 30; i++)); do
    st=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)
    [[ -z "$st" || "$st" == Z ]] && return 0
    sleep 0.1
  done
  return 1
}
