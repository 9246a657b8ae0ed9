#!/usr/bin/env bash
# Real client: Debian's podman 4.3 (crun, conmon, netavark), rootless, with
# netd in place of slirp4netns (containers.conf network_cmd_path) and of
# aardvark-dns (a helper_binaries_dir holding a symlink aardvark-dns -> netd).
#
#   a. `--network slirp4netns`: podman starts netd as
#      `slirp4netns --disable-host-loopback --mtu=65520 --enable-sandbox
#      --enable-seccomp --enable-ipv6 -c -e 3 -r 4 [--api-socket ...]
#      --netns-type=path NETNS tap0`. The container reaches the world host
#      over IPv4 and IPv6, and DNS through 10.0.2.3; the host's loopback
#      through the gateway only with `slirp4netns:allow_host_loopback=true`
#      (podman passes --disable-host-loopback otherwise); `outbound_addr=`,
#      `cidr=`, `mtu=` and `enable_ipv6=false` reach netd as its options.
#      `-p` with `port_handler=slirp4netns` goes through netd's API and the
#      server sees each client's address (a loopback client as the gateway
#      10.0.2.2, as with slirp4netns); with the default handler (rootlessport)
#      the port works and the server sees the container's own address,
#      rootlessport's known limitation. When the container ends (`run --rm`,
#      `stop`), netd exits and its API socket and ports are gone.
#   b. A bridge network (`podman network create`): two containers resolve
#      each other by name through netd as aardvark-dns (started by Debian's
#      netavark), other names are forwarded; the network's rootless netns is
#      connected outward by netd as its slirp4netns, with containers.conf's
#      network_cmd_options (outbound_addr=) applied; a published port works.
#      When the last container goes, podman stops both netd processes.
#
# podman runs rootless inside the harness, with everything it keeps under $T
# and an image made from the host's busybox: tests/integration/podman_lib.sh
# says how.
NETD_HARNESS_SUBIDS=1
source "$(dirname "$0")/lib.sh" || exit 1
source "$(dirname "$0")/bridge_lib.sh" || exit 1  # resolv.conf names the world's DNS server; gone PID
source "$(dirname "$0")/podman_lib.sh" || exit 1

world_up
world_ipv6_up
ip addr add 198.51.100.2/24 dev veth-h  # a second host address for outbound_addr=
world_server dns 53
world_server tcp-server 7001
world_server tcp-server 7003 2001:db8::10
host_server tcp-server 8081

podman_setup
podman_image localhost/netd-bb
ok "podman $(pm version --format '{{.Client.Version}}') rootless, image imported from a local tarball"

RUN=(run --pull=never -d)
IMG=localhost/netd-bb
WEB=(httpd -f -p 80 -h /www)

# netd processes as "PID ARGS" lines (exe is the netd binary, whatever
# argv[0]); not the clean-up helper each forks (common/exit_cleanup.h),
# whose parent is netd: it ends with its parent.
is_netd() { [[ "$(readlink "/proc/$1/exe" 2>/dev/null)" == "$NETD_REAL" ]]; }
netd_procs() {
  local p ppid
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    is_netd "$p" || continue
    ppid=$(sed -n 's/^PPid:\s*//p' "/proc/$p/status" 2>/dev/null || true)
    [[ -n "$ppid" ]] && is_netd "$ppid" && continue
    echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
  return 0
}
# wait_no_netd MATCH: until no netd process's command line contains MATCH (10 s).
wait_no_netd() {
  for ((i = 0; i < 100; i++)); do
    netd_procs | grep -qF -- "$1" || return 0
    sleep 0.1
  done
  return 1
}
# port_closed PORT: until nothing listens on TCP PORT here (10 s; conmon,
# which may hold a published port for podman, exits a moment after the stop).
port_closed() {
  for ((i = 0; i < 100; i++)); do
    [[ -z "$(ss -Hltn "sport = :$1")" ]] && return 0
    sleep 0.1
  done
  return 1
}
# published PORT LOOPBACK_SEEN WORLD_SEEN: a client on 127.0.0.1 and one in
# the world use host port PORT; the server must have seen these addresses.
published() {
  local out
  out=$(http_retry 127.0.0.1 "$1") || pm_fail "127.0.0.1:$1: $out"
  [[ "$out" == "$2" ]] || fail "port $1, loopback client: the server saw '$out', not $2"
  out=$(http_retry 198.51.100.1 "$1" in_world) || pm_fail "world -> 198.51.100.1:$1: $out"
  [[ "$out" == "$3" ]] || fail "port $1, world client: the server saw '$out', not $3"
}
# stop_gone CTR NETD_PID PORT: podman stop; then netd and the port are gone.
stop_gone() {
  pm stop -t 0 "$1" >/dev/null || pm_fail "podman stop $1"
  gone "$2" || gone "$2" || gone "$2" || fail "netd ($2) still runs 9 s after $1 stopped"
  port_closed "$3" || fail "port $3 still listens after $1 stopped: $(ss -Hltnp "sport = :$3")"
}
# exec_who CTR ADDR PORT: the address a tcp-server saw for a connection from CTR.
exec_who() {
  pm exec "$1" sh -c "echo WHO | nc -w 5 $2 $3" | cut -d' ' -f1
}

# ---- a. --network slirp4netns ----------------------------------------------
out=$(pm run --pull=never --rm --network slirp4netns "$IMG" sh -c 'echo WHO | nc -w 5 198.51.100.10 7001') ||
  pm_fail "podman run --rm --network slirp4netns: $out"
[[ "$out" == "198.51.100.1 "* ]] || fail "podman run --rm: the world saw '$out'"
wait_no_netd "slirp4netns" || fail "netd still runs after 'podman run --rm' ended: $(netd_procs)"
ok "podman run --rm --network slirp4netns: the world answered; netd ended with the container"

pm "${RUN[@]}" --name s1 --network slirp4netns:port_handler=slirp4netns -p 18080:80 "$IMG" "${WEB[@]}" >/dev/null ||
  pm_fail "podman run --network slirp4netns:port_handler=slirp4netns"
s1=$(netd_procs | grep -- "--api-socket" || true)
[[ -n "$s1" ]] || fail "no netd process with an API socket for s1: $(netd_procs)"
S1_PID=${s1%% *}
for want in --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6 " -c " " -e 3 " \
  " -r 4 " --netns-type=path; do
  [[ " ${s1#* }" == *"$want"* ]] || fail "podman's slirp4netns command line lacks '$want': $s1"
done
API_SOCK=$(sed 's/.*--api-socket \([^ ]*\).*/\1/' <<<"$s1")
[[ -S "$API_SOCK" ]] || fail "no API socket at $API_SOCK: $(ls -la "$(dirname "$API_SOCK")")"
ok "podman started netd as slirp4netns: ${s1#* }"

[[ "$(exec_who s1 198.51.100.10 7001)" == 198.51.100.1 ]] || pm_fail "s1 -> world: '$(exec_who s1 198.51.100.10 7001)'"
out=$(pm exec s1 nslookup -type=a name.test 10.0.2.3) || pm_fail "s1: nslookup through 10.0.2.3: $out"
grep -q "192.0.2.55" <<<"$out" || pm_fail "s1: DNS through 10.0.2.3: $out"
rc=0
out=$(pm exec s1 sh -c 'echo WHO | nc -w 5 10.0.2.2 8081 2>&1') || rc=$?
[[ $rc -ne 0 && "$out" == *"Connection refused"* ]] ||
  fail "s1 -> 10.0.2.2:8081 with --disable-host-loopback: exit $rc, '$out', not refused"
# IPv6 (podman passes --enable-ipv6): once the container has its SLAAC address.
for ((i = 0; i < 50; i++)); do
  who6=$(exec_who s1 2001:db8::10 7003 2>/dev/null || true)
  [[ -n "$who6" ]] && break
  sleep 0.1
done
[[ "$who6" == 2001:db8::1 ]] || pm_fail "s1 -> world over IPv6: '$who6'"
ok "s1: the world host answers over IPv4 and IPv6 (seen from 198.51.100.1, 2001:db8::1), DNS via 10.0.2.3 works, 10.0.2.2:8081 is refused"

published 18080 10.0.2.2 198.51.100.10
ok "-p 18080:80 with port_handler=slirp4netns (netd's API): the server saw 10.0.2.2 (loopback client) and 198.51.100.10 (world client)"

stop_gone s1 "$S1_PID" 18080
[[ ! -e "$API_SOCK" ]] || fail "API socket $API_SOCK left behind"
ok "s1 stopped: netd exited, its API socket and port are gone"

# ---- a. allow_host_loopback, outbound_addr, the default port handler ------
S2NET=slirp4netns:allow_host_loopback=true,outbound_addr=198.51.100.2,cidr=10.0.3.0/24,mtu=9000,enable_ipv6=false
pm "${RUN[@]}" --name s2 --network "$S2NET" -p 18081:80 "$IMG" "${WEB[@]}" >/dev/null ||
  pm_fail "podman run --network $S2NET"
s2=$(netd_procs | grep -- "--outbound-addr" || true)
[[ -n "$s2" ]] || fail "no netd process with --outbound-addr for s2: $(netd_procs)"
S2_PID=${s2%% *}
[[ "$s2" != *--disable-host-loopback* ]] || fail "allow_host_loopback=true still passed --disable-host-loopback: $s2"
[[ "$s2" != *--enable-ipv6* ]] || fail "enable_ipv6=false still passed --enable-ipv6: $s2"
for want in --outbound-addr=198.51.100.2 --cidr=10.0.3.0/24 --mtu=9000; do
  [[ "$s2" == *"$want"* ]] || fail "podman's slirp4netns command line lacks '$want': $s2"
done
[[ "$(pm exec s2 ip -o addr show tap0)" == *"inet 10.0.3.100/24"* ]] || pm_fail "s2: tap0 $(pm exec s2 ip -o addr show tap0)"
[[ "$(pm exec s2 ip -o link show tap0)" == *"mtu 9000"* ]] || pm_fail "s2: tap0 $(pm exec s2 ip -o link show tap0)"
[[ "$(exec_who s2 198.51.100.10 7001)" == 198.51.100.2 ]] || pm_fail "s2 -> world: '$(exec_who s2 198.51.100.10 7001)'"
# (Like slirp4netns, netd binds every socket to the outbound address, also
# towards the host's loopback.)
[[ "$(exec_who s2 10.0.3.2 8081)" == 198.51.100.2 ]] || pm_fail "s2 -> 10.0.3.2:8081: '$(exec_who s2 10.0.3.2 8081)'"
ok "s2 ($S2NET): tap0 10.0.3.100/24 mtu 9000; the world and, through 10.0.3.2, the host's 127.0.0.1 see 198.51.100.2"

published 18081 10.0.3.100 10.0.3.100
ok "-p 18081:80 with the default handler (rootlessport): works; the server sees 10.0.3.100: rootlessport connects from inside the namespace and loses the client's address"

stop_gone s2 "$S2_PID" 18081
for ((i = 0; i < 50; i++)); do grep -qx rootlessport /proc/[0-9]*/comm 2>/dev/null || break; sleep 0.1; done
if grep -qx rootlessport /proc/[0-9]*/comm 2>/dev/null; then fail "rootlessport still runs after s2 stopped"; fi
pm_rm_each s1 s2 || pm_fail "podman rm"
ok "s2 stopped: netd and rootlessport are gone"

# ---- b. a bridge network: netd as aardvark-dns and as the rootless netns' slirp4netns
# containers.conf's network_cmd_options reach the rootless netns' instance.
podman_network_cmd "$T/bin/slirp4netns" '"outbound_addr=198.51.100.2"'
pm network create --subnet 10.89.7.0/24 n1 >/dev/null || pm_fail "podman network create"
pm "${RUN[@]}" --name web --network n1 -p 18082:80 "$IMG" "${WEB[@]}" >/dev/null || pm_fail "podman run --network n1"
rl=$(netd_procs | grep -- "rootless-netns" || true)
[[ -n "$rl" ]] || fail "the rootless netns is not connected by netd: $(netd_procs)"
dns=$(netd_procs | grep -- "aardvark-dns" || true)
[[ -n "$dns" ]] || fail "netavark did not start netd as aardvark-dns: $(netd_procs)"
[[ "$rl" == *--outbound-addr=198.51.100.2* ]] || fail "network_cmd_options did not reach the rootless netns' netd: $rl"
ok "netd connects the rootless netns (${rl#* }) and serves its DNS (${dns#* })"

pm "${RUN[@]}" --name cli --network n1 "$IMG" sleep 600 >/dev/null || pm_fail "podman run --name cli --network n1"
podman_bridge_pair 198.51.100.2 "n1 -> world: not from the outbound address"
ok "on n1: web and cli resolve each other (netd as aardvark-dns), HTTP by name, a forwarded name answers, the world sees 198.51.100.2 (network_cmd_options)"

out=$(http_retry 127.0.0.1 18082) || pm_fail "published port of a bridge container: $out"
[[ "$out" =~ ^10\.89\.7\. ]] || fail "bridge port: the server saw '$out'"
ok "-p 18082:80 on n1 works (rootlessport; the server saw $out)"

pm_rm_each -f --time=0 cli web || pm_fail "podman rm cli web"
wait_no_netd "rootless-netns" || fail "netd (the rootless netns' slirp4netns) still runs after the last container: $(netd_procs)"
wait_no_netd "aardvark-dns" || fail "netd (aardvark-dns) still runs after the last container: $(netd_procs)"
[[ -z "$(netd_procs)" ]] || fail "netd processes left behind: $(netd_procs)"
port_closed 18082 || fail "port 18082 still listens after web went: $(ss -Hltnp 'sport = :18082')"
left=$(find "$T/tmp" "$T/xdg" -type s 2>/dev/null || true)
[[ -z "$left" ]] || fail "socket files left behind: $left"
ok "the last container gone: podman stopped both netd processes; no process, port or socket file is left"
pm network rm n1 >/dev/null || pm_fail "podman network rm"
pass
