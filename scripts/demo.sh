#!/usr/bin/env bash
# The netd demo: installs what is missing, builds netd, and attaches a fresh
# unprivileged container namespace through `netd attach`. It then shows the
# namespace working (address by DHCP, ping to the gateway and to a "world"
# host, a UDP exchange and an HTTP fetch with servers on the host's loopback
# through the gateway, DNS through netd's forwarder) and, on a terminal, leaves you in a
# shell inside the container namespace. Without a terminal it prints the
# tour and exits 0.
#
# Everything happens in namespaces this script creates: the "world" host
# 198.51.100.10 and its DNS server live in a namespace behind a veth, so no
# packet leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ -z "${NETD_HARNESS_INNER:-}" ]]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target netd
  export NETD_BIN="$ROOT/build/bin/netd" NETD_SRC="$ROOT"
  export NETD_TEST_LIFETIME=86400
  if [[ -t 0 && -t 1 ]]; then export NETD_HARNESS_INTERACTIVE=1; fi
  # Run as the calling user; lib.sh re-executes this script in its own
  # user/net/pid/mount namespace (the "host" netd runs in).
fi

# shellcheck source=../tests/integration/lib.sh
source "$ROOT/tests/integration/lib.sh"
trap - ERR

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

world_up
world_server dns 53
host_server udp-echo 5007
mkdir -p "$T/www" && echo "hello from the host's 127.0.0.1:8000, through netd's TCP translation" >"$T/www/hello.txt"
"$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" 8000 >/dev/null 2>&1 &
PIDS+=("$!")
wait_listening 8000 env
container_up
netd_attach --dns-upstream 198.51.100.10
echo "netd attach is running (pid $NETD_PID) for the container namespace of pid $CTR."

step "udhcpc -i tap0   # DHCP from netd's built-in server"
dhcp_lease
in_ctr ip -br addr show tap0
in_ctr ip route
step "ping -c 2 10.0.2.2   # the gateway, answered by netd"
in_ctr ping -c 2 -W 2 10.0.2.2
step "ping -c 2 198.51.100.10   # a world host, through an unprivileged ping socket"
in_ctr ping -c 2 -W 2 198.51.100.10 || echo "(ping sockets are not permitted here)"
step "UDP to 10.0.2.2:5007   # reaches a server on the host's 127.0.0.1"
in_ctr "$PY" "$SERVERS" udp-client 10.0.2.2 5007 "hello from the container"
step "wget -qO- http://10.0.2.2:8000/hello.txt   # TCP to a web server on the host's loopback"
in_ctr busybox wget -qO- http://10.0.2.2:8000/hello.txt
step "dig @10.0.2.3 demo.test   # netd's DNS forwarder, upstream = the world's test server"
in_ctr dig +short +tries=1 +time=3 @10.0.2.3 demo.test A
step "counters (kill -USR1 netd)"
echo "drop_malformed=$(netd_counter drop_malformed) udp_to_host=$(netd_counter udp_to_host) dns_queries=$(netd_counter dns_queries)"

if [[ -n "${NETD_HARNESS_INTERACTIVE:-}" ]]; then
  cat <<TOUR

You are now in the container's network namespace (exit to end the demo).
Try:  ip a;  ping 10.0.2.2;  dig @10.0.2.3 anything.test;
      busybox wget -qO- http://10.0.2.2:8000/hello.txt;
      python3 $SERVERS udp-client 10.0.2.2 5007 hi
netd's log: $NETD_LOG
TOUR
  in_ctr env PS1='netd-demo# ' bash --norc -i || true
else
  echo
  echo "Demo done (no terminal: not opening a shell). Run scripts/demo.sh in a terminal to get one."
fi
exit 0
