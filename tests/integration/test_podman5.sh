#!/usr/bin/env bash
# Real client: Podman 5.4 (Debian 13), rootless, with pasta networking: the
# same steps first with Debian 13's own pasta (the harness' self-check), then
# with netd as pasta (a symlink named pasta in podman's helper_binaries_dir),
# once netd has that mode. Per implementation:
#   default  `podman run` on the default network: podman starts pasta with
#            its fixed options (--config-net, --dns-forward 169.254.1.1,
#            --no-map-gw, --quiet, --netns, --map-guest-addr 169.254.1.2 ...);
#            the container has the harness host's addresses (198.51.100.1/24
#            and 2001:db8::1/64 on veth-h) and default routes (via the world
#            host 198.51.100.10 and 2001:db8::10); a name resolves through
#            169.254.1.1 (forwarded to the test's DNS server); the world host
#            answers over IPv4 and IPv6 and sees the host's addresses; the
#            gateway is not the host (--no-map-gw: port 8081 of 198.51.100.10
#            is refused, though the host's 127.0.0.1 listens there);
#            host.containers.internal (169.254.1.2) reaches a server on the
#            host's own 198.51.100.1. pasta exits once the container is removed.
#   map-gw   `--network pasta:--map-gw`: the gateway address reaches a TCP
#            server on the host's 127.0.0.1.
#   queues   (netd only) `--network pasta:--map-gw,--queues,2`: podman passes
#            netd's own option; 8 parallel connections are answered.
#   tcp      `-p 127.0.0.1:P:80 -p Q:80`: an HTTP server in the container
#            answers a client on the host's loopback and one in the world
#            and reports the client address it saw (what each implementation
#            gives is asserted below).
#   udp      `-p P:C/udp`: a datagram from the host's loopback comes back
#            from an echo server in the container.
#   bridge   a network made by `podman network create`: podman connects its
#            rootless netns with pasta (--pid), netavark starts aardvark-dns;
#            two containers resolve each other's names both ways, a server
#            sees the other container's address, the world host answers, a
#            forwarded name resolves and a published port (rootlessport)
#            answers the host's loopback. When the last container goes,
#            podman stops that pasta and aardvark-dns.
# Then nothing is left: no pasta, aardvark-dns, conmon, rootlessport or netd
# process, no netns file.
#
# Podman 5 comes from a Debian 13 root entered through a mount namespace; its
# state lives under $T: tests/integration/podman5_lib.sh says how.
NETD_HARNESS_SUBIDS=1
source "$(dirname "$0")/lib.sh" || exit 1
source "$(dirname "$0")/bridge_lib.sh" || exit 1  # resolv.conf names the world's DNS server; gone PID
source "$(dirname "$0")/podman5_lib.sh" || exit 1

export NETD_TEST_LIFETIME=280  # (the servers outlive both implementations' steps)
world_up
world_ipv6_up
ip -6 route add default via 2001:db8::10 dev veth-h  # (pasta copies it with the address)
world_server dns 53
world_server tcp-server 7001
world_server tcp-server 7003 2001:db8::10
host_server tcp-server 8081
host_server tcp-server 8082 198.51.100.1

podman5_setup
podman_image localhost/netd-bb /usr/bin/socat
ok "podman $(pm version --format '{{.Client.Version}}') rootless from the Debian 13 root; image imported from a local tarball"

IMG=localhost/netd-bb
RUN=(run --pull=never)

# What a server in the container sees as the address of a client that came
# through a published TCP port, per implementation: a client on the host's
# loopback (-p 127.0.0.1:18080:80), and the world host 198.51.100.10
# connecting to the host's 198.51.100.1 (-p 18081:80).
# Debian's pasta splices the loopback client through the namespace's
# loopback, so the server sees its own address, 198.51.100.1; the world
# client it shows as itself. netd keeps client addresses
# (docs/compat-pasta.md): the world client as itself, a host-loopback client
# as the host (podman's --map-guest-addr 169.254.1.2, host.containers.internal):
# under podman's --no-map-gw there is no loopback alias, and the gateway
# 198.51.100.10 is another host.
declare -A TCP_LOOPBACK_CLIENT_SEEN=([debian]=198.51.100.1 [netd]=169.254.1.2)
declare -A TCP_WORLD_CLIENT_SEEN=([debian]=198.51.100.10 [netd]=198.51.100.10)

# pasta_procs: the pasta processes ("PID EXE ARGS").
pasta_procs() { podman5_procs pasta; }
# gone9 PID: until PID has exited (9 s; bridge_lib.sh's gone waits 3 s).
gone9() { gone "$1" || gone "$1" || gone "$1"; }

step_default() {
  pm "${RUN[@]}" -d --name d1 "$IMG" sleep 600 >/dev/null || pm_fail "$1: podman run -d (default network)"
  local p
  p=$(pasta_procs)
  [[ $(wc -l <<<"$p") == 1 && -n "$p" ]] || fail "$1: not one pasta process for d1: '$p'"
  local pid=${p%% *} exe argv
  exe=$(cut -d' ' -f2 <<<"$p")
  argv=$(cut -d' ' -f3- <<<"$p")
  log "$1: podman ran pasta ($exe) as: $argv"
  case $1 in
    debian) [[ "$exe" == /usr/bin/pasta* ]] ;;
    netd) [[ "$exe" == "$NETD_IN_ROOT" ]] ;;
  esac || fail "$1: pasta is $exe"
  local want
  for want in --config-net "--dns-forward 169.254.1.1" "-t none" "-u none" "-T none" "-U none" --no-map-gw \
    --quiet "--netns $XDG_RUNTIME_DIR/netns/" "--map-guest-addr 169.254.1.2"; do
    [[ " $argv " == *" $want"* ]] || fail "$1: podman's pasta command line lacks '$want': $argv"
  done

  local out
  out=$(pm exec d1 sh -c 'ip -o addr show scope global; ip route show default; ip -6 route show default; cat /etc/resolv.conf /etc/hosts') ||
    pm_fail "$1: d1: ip addr"
  log "$1: d1 sees: $(tr -s ' \n' ' ;' <<<"$out")"
  grep -q "veth-h *inet 198.51.100.1/24" <<<"$out" || fail "$1: d1 lacks the host's 198.51.100.1/24 on veth-h: $out"
  grep -q "veth-h *inet6 2001:db8::1/64" <<<"$out" || fail "$1: d1 lacks the host's 2001:db8::1/64 on veth-h: $out"
  grep -q "^default via 198.51.100.10 dev veth-h" <<<"$out" || fail "$1: d1's default route: $out"
  grep -q "^default via 2001:db8::10 dev veth-h" <<<"$out" || fail "$1: d1's IPv6 default route: $out"
  grep -q "^169.254.1.2[[:space:]]*host.containers.internal" <<<"$out" ||
    fail "$1: /etc/hosts lacks host.containers.internal at 169.254.1.2: $out"
  [[ "$(grep -m1 '^nameserver' <<<"$out")" == "nameserver 169.254.1.1" ]] ||
    fail "$1: d1's first nameserver is not pasta's 169.254.1.1: $out"
  out=$(pm exec d1 nslookup -type=a name.test 169.254.1.1) || pm_fail "$1: d1: nslookup through 169.254.1.1: $out"
  grep -q "192.0.2.55" <<<"$out" || pm_fail "$1: d1: name.test through 169.254.1.1: $out"
  out=$(pm exec d1 sh -c 'echo WHO | nc -w 5 198.51.100.10 7001') || pm_fail "$1: d1 -> world 198.51.100.10:7001: $out"
  [[ "$out" == "198.51.100.1 "* ]] || pm_fail "$1: d1 -> world 198.51.100.10:7001: '$out'"
  for ((i = 0; i < 50; i++)); do  # (until the address left duplicate address detection)
    out=$(pm exec d1 sh -c 'echo WHO | nc -w 5 2001:db8::10 7003' 2>/dev/null || true)
    [[ -n "$out" ]] && break
    sleep 0.1
  done
  [[ "$out" == "2001:db8::1 "* ]] || pm_fail "$1: d1 -> world [2001:db8::10]:7003: '$out'"
  local rc=0
  out=$(pm exec d1 sh -c 'echo WHO | nc -w 5 198.51.100.10 8081 2>&1') || rc=$?
  [[ $rc -ne 0 && "$out" == *"Connection refused"* ]] ||
    fail "$1: d1 -> gateway:8081 under --no-map-gw: exit $rc, '$out', not refused"
  out=$(pm exec d1 sh -c 'echo WHO | nc -w 5 host.containers.internal 8082') ||
    pm_fail "$1: d1 -> host.containers.internal:8082: $out"
  [[ "$out" == "198.51.100.1 "* ]] || pm_fail "$1: d1 -> host.containers.internal:8082 (the host's 198.51.100.1): '$out'"
  ok "$1: default network: 198.51.100.1/24 and 2001:db8::1/64 on veth-h, default routes via the world host, DNS via 169.254.1.1, the world sees 198.51.100.1 and 2001:db8::1, the gateway is not the host, host.containers.internal is the host's own address"

  pm rm -f -t 0 d1 >/dev/null || pm_fail "$1: podman rm d1"
  gone9 "$pid" || fail "$1: pasta ($pid) still runs 9 s after d1 was removed"
  ok "$1: pasta exited when d1 was removed"
}

step_map_gw() {
  pm "${RUN[@]}" -d --name g1 --network pasta:--map-gw "$IMG" sleep 600 >/dev/null ||
    pm_fail "$1: podman run --network pasta:--map-gw"
  local argv out
  argv=$(pasta_procs)
  log "$1: with pasta:--map-gw, podman ran pasta as: $(cut -d' ' -f3- <<<"$argv")"
  [[ "$argv " != *" --map-gw "* && "$argv " != *" --no-map-gw "* ]] ||
    fail "$1: with pasta:--map-gw podman still passed --map-gw or --no-map-gw: $argv"
  out=$(pm exec g1 sh -c 'echo WHO | nc -w 5 198.51.100.10 8081') || pm_fail "$1: --map-gw: g1 -> gateway:8081: $out"
  [[ "$out" == "127.0.0.1 "* ]] || pm_fail "$1: --map-gw: the host's 127.0.0.1:8081 saw '$out'"
  ok "$1: --network pasta:--map-gw (neither --map-gw nor --no-map-gw reach pasta): the gateway reaches the host's 127.0.0.1:8081 (seen from $out)"
  pm rm -f -t 0 g1 >/dev/null || pm_fail "$1: podman rm g1"
}

# netd's own --queues through Podman's `--network pasta:` words (the
# self-check's pasta would refuse the option: netd only).
step_queues() {
  [[ "$1" == netd ]] || return 0
  pm "${RUN[@]}" -d --name q1 --network pasta:--map-gw,--queues,2 "$IMG" sleep 600 >/dev/null ||
    pm_fail "$1: podman run --network pasta:--map-gw,--queues,2"
  local argv out
  argv=$(pasta_procs)
  [[ "$argv " == *" --queues 2 "* ]] || fail "$1: podman did not pass --queues 2 to pasta: $argv"
  out=$(pm exec q1 sh -c 'for i in 1 2 3 4 5 6 7 8; do echo WHO | nc -w 5 198.51.100.10 8081 & done; wait') ||
    pm_fail "$1: --queues 2: q1 -> gateway:8081: $out"
  [[ $(grep -c "^127.0.0.1 " <<<"$out") -eq 8 ]] || pm_fail "$1: --queues 2: 8 parallel connections got: '$out'"
  ok "$1: --network pasta:--map-gw,--queues,2: --queues 2 reaches netd, and 8 parallel connections through the two-queue tap are answered"
  pm rm -f -t 0 q1 >/dev/null || pm_fail "$1: podman rm q1"
}

step_tcp_port() {
  pm "${RUN[@]}" -d --name web -p 127.0.0.1:18080:80 -p 18081:80 "$IMG" httpd -f -p 80 -h /www >/dev/null ||
    pm_fail "$1: podman run -p 127.0.0.1:18080:80 -p 18081:80"
  local argv lo world
  argv=$(pasta_procs)
  log "$1: with two published TCP ports, podman ran pasta as: $(cut -d' ' -f3- <<<"$argv")"
  for want in "-t 127.0.0.1/18080-18080:80-80" "-t 18081-18081:80-80"; do
    [[ "$argv " == *" $want "* ]] || fail "$1: no '$want' for a published port: $argv"
  done
  lo=$(http_retry 127.0.0.1 18080) || pm_fail "$1: 127.0.0.1:18080: $lo"
  world=$(http_retry 198.51.100.1 18081 in_world) || pm_fail "$1: world -> 198.51.100.1:18081: $world"
  log "$1: published TCP ports: the container's server saw the client 127.0.0.1 as '$lo', the world's 198.51.100.10 as '$world'"
  [[ "$lo" == "${TCP_LOOPBACK_CLIENT_SEEN[$1]}" ]] ||
    fail "$1: loopback client: the server saw '$lo', not ${TCP_LOOPBACK_CLIENT_SEEN[$1]}"
  [[ "$world" == "${TCP_WORLD_CLIENT_SEEN[$1]}" ]] ||
    fail "$1: world client: the server saw '$world', not ${TCP_WORLD_CLIENT_SEEN[$1]}"
  ok "$1: -p 127.0.0.1:18080:80 and -p 18081:80 (TCP): HTTP answered; the server saw $lo (loopback client) and $world (world client)"
  pm rm -f -t 0 web >/dev/null || pm_fail "$1: podman rm web"
}

step_udp_port() {
  pm "${RUN[@]}" -d --name udp -p 18053:5353/udp "$IMG" socat UDP4-RECVFROM:5353,fork EXEC:cat >/dev/null ||
    pm_fail "$1: podman run -p 18053:5353/udp"
  local argv out=""
  argv=$(pasta_procs)
  log "$1: with a published UDP port, podman ran pasta as: $(cut -d' ' -f3- <<<"$argv")"
  [[ "$argv" == *" -u 18053-18053:5353-5353 "* ]] || fail "$1: no -u for the published port: $argv"
  for ((i = 0; i < 20; i++)); do
    out=$("$PY" "$SERVERS" udp-client 127.0.0.1 18053 ping-18053 2>/dev/null) && break
    sleep 0.2
  done
  [[ "$out" == ping-18053 ]] || fail "$1: UDP 127.0.0.1:18053 -> container :5353 and back: '$out'"
  ok "$1: -p 18053:5353/udp: a datagram from the host's loopback came back from the container"
  pm rm -f -t 0 udp >/dev/null || pm_fail "$1: podman rm udp"
}

step_bridge() {
  pm network create --subnet 10.89.7.0/24 n1 >/dev/null || pm_fail "$1: podman network create"
  pm "${RUN[@]}" -d --name web --network n1 -p 18082:80 "$IMG" httpd -f -p 80 -h /www >/dev/null ||
    pm_fail "$1: podman run --network n1"
  pm "${RUN[@]}" -d --name cli --network n1 "$IMG" sleep 600 >/dev/null || pm_fail "$1: podman run --name cli --network n1"
  local rl dns exe
  rl=$(pasta_procs)
  [[ $(wc -l <<<"$rl") == 1 && "$rl" == *" --pid "* ]] || fail "$1: not one pasta with --pid for the rootless netns: '$rl'"
  log "$1: podman ran pasta for the rootless netns as: $(cut -d' ' -f3- <<<"$rl")"
  dns=$(podman5_procs aardvark-dns)
  [[ $(wc -l <<<"$dns") == 1 && -n "$dns" ]] || fail "$1: not one aardvark-dns: '$dns'"
  log "$1: netavark ran aardvark-dns as: $(cut -d' ' -f3- <<<"$dns")"
  exe=$(cut -d' ' -f2 <<<"$dns")
  case $1 in
    debian) [[ "$exe" == /usr/lib/podman/aardvark-dns ]] ;;
    netd) [[ "$exe" == "$NETD_IN_ROOT" ]] ;;
  esac || fail "$1: aardvark-dns is $exe"

  podman_bridge_pair 198.51.100.1 "$1: n1 -> world: not seen from the host's address"
  ok "$1: on n1: web and cli resolve each other (aardvark-dns), HTTP by name, a forwarded name answers, the world sees 198.51.100.1"

  local out
  out=$(http_retry 127.0.0.1 18082) || pm_fail "$1: published port of a bridge container: $out"
  [[ "$out" =~ ^10\.89\.7\. ]] || fail "$1: bridge port: the server saw '$out'"
  ok "$1: -p 18082:80 on n1 works from the host's loopback (rootlessport; the server saw $out)"

  local rl_pid=${rl%% *} dns_pid=${dns%% *}
  pm_rm_each -f --time=0 cli web || pm_fail "$1: podman rm cli web"
  gone9 "$rl_pid" || fail "$1: the rootless netns' pasta ($rl_pid) still runs after the last container went"
  gone9 "$dns_pid" || fail "$1: aardvark-dns ($dns_pid) still runs after the last container went"
  pm network rm n1 >/dev/null || pm_fail "$1: podman network rm n1"
  ok "$1: the last container gone: podman stopped the rootless netns' pasta and aardvark-dns"
}

# PODMAN5_STEPS picks steps by hand while debugging (e.g. "bridge").
for impl in $(podman5_impls); do
  podman5_impl "$impl"
  for step in ${PODMAN5_STEPS:-default map_gw queues tcp_port udp_port bridge}; do
    "step_$step" "$impl"
  done
  podman5_none_left
  ok "$impl: no pasta, aardvark-dns, conmon, rootlessport or netd process and no netns file is left"
done
pass
