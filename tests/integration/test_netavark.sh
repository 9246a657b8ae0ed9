#!/usr/bin/env bash
# Real client (issue 7): netavark from Debian sets up containers on a bridge
# network with --aardvark-binary pointing at a symlink named aardvark-dns to
# netd; the containers resolve each other (name, alias, PTR) through netd at
# the gateway, other names are forwarded to the test's upstream; teardown
# reloads netd (the name is gone) and the last teardown stops it.
#
# Unprivileged, this runs the way podman runs netavark for rootless users:
# inside a user namespace the user owns (here the harness' own), where netavark
# is root, creates the bridge and its firewall (iptables, nf_tables backend),
# and starts aardvark-dns there. netavark itself needs those root powers; the
# user namespace is what gives them without privilege.
source "$(dirname "$0")/lib.sh"

NETAVARK=/usr/lib/podman/netavark
[[ -x "$NETAVARK" ]] || skip "netavark is not installed at $NETAVARK (scripts/install-deps.sh installs it)"
need_tools dig iptables  # (iptables: netavark 1.4's firewall driver needs it)

world_up
world_server dns 53  # *.test -> 192.0.2.55
printf 'nameserver 198.51.100.10\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
mkdir -p "$T/bin" "$T/nv"
ln -s "$NETD_BIN" "$T/bin/aardvark-dns"

network_json() {
  cat <<JSON
{"name":"podman1","id":"$(printf 'a%.0s' {1..64})","driver":"bridge","network_interface":"podman1",
 "subnets":[{"subnet":"10.89.7.0/24","gateway":"10.89.7.1"}],"ipv6_enabled":false,"internal":false,
 "dns_enabled":true,"ipam_options":{"driver":"host-local"}}
JSON
}
setup_json() {  # ID NAME IP ALIASES-JSON
  cat <<JSON
{"container_id":"$1","container_name":"$2",
 "networks":{"podman1":{"interface_name":"eth0","static_ips":["$3"],"aliases":$4}},
 "network_info":{"podman1":$(network_json)},"port_mappings":[]}
JSON
}
nv() { "$NETAVARK" --config "$T/nv" --aardvark-binary "$T/bin/aardvark-dns" "$@"; }
ID1=$(printf '1%.0s' {1..64})
ID2=$(printf '2%.0s' {1..64})

container_up; C1=$CTR
container_up; C2=$CTR
setup_json "$ID1" web 10.89.7.2 '["web","www"]' | nv setup "/proc/$C1/ns/net" >"$T/out1" 2>"$T/err1" ||
  fail "netavark setup c1: $(cat "$T/err1")"
setup_json "$ID2" api 10.89.7.3 '["api"]' | nv setup "/proc/$C2/ns/net" >"$T/out2" 2>"$T/err2" ||
  fail "netavark setup c2: $(cat "$T/err2")"
grep -q '"dns_server_ips":\["10.89.7.1"\]' "$T/out2" || fail "setup output: $(cat "$T/out2")"
ok "netavark setup of two containers (dns server 10.89.7.1)"

PIDFILE=$T/nv/aardvark-dns/aardvark.pid
[[ -f "$PIDFILE" ]] || fail "no aardvark.pid: netavark did not start the DNS server ($(cat "$T/err1"))"
DNS_PID=$(cat "$PIDFILE")
[[ "$(readlink "/proc/$DNS_PID/exe")" == "$(readlink -f "$NETD_BIN")" ]] ||
  fail "pid $DNS_PID is $(readlink "/proc/$DNS_PID/exe"), not netd"
ok "netavark started netd as aardvark-dns (pid $DNS_PID)"

# (a dig that fails prints nothing, which no expected answer below is)
q() { in_ctr dig +short +time=2 +tries=1 @10.89.7.1 "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
CTR=$C2
[[ "$(q web)" == 10.89.7.2 ]] || fail "web from api: '$(q web)'"
[[ "$(q www.dns.podman)" == 10.89.7.2 ]] || fail "alias www: '$(q www.dns.podman)'"
[[ "$(q -x 10.89.7.2)" == "web.dns.podman. www.dns.podman." ]] || fail "PTR: '$(q -x 10.89.7.2)'"
[[ "$(q +tcp web)" == 10.89.7.2 ]] || fail "TCP: '$(q +tcp web)'"
[[ "$(q host.test)" == 192.0.2.55 ]] || fail "forwarded name: '$(q host.test)'"
ok "dig in a netavark container: name, alias, PTR, TCP and a forwarded name"

setup_json "$ID1" web 10.89.7.2 '["web","www"]' | nv teardown "/proc/$C1/ns/net" 2>"$T/err3" ||
  fail "netavark teardown c1: $(cat "$T/err3")"
# netavark's bridge has no fixed MAC: with c1's veth gone it may take another
# port's address, and api's ARP entry for the gateway would point nowhere
# until it expires (netd's own bridges keep one address). Not what this test
# is about: forget the entry.
in_ctr ip neigh flush dev eth0
st=$(in_ctr dig +time=2 +tries=1 @10.89.7.1 web.dns.podman | sed -n 's/.*status: \([A-Z]*\).*/\1/p') ||
  fail "dig web.dns.podman after the teardown found no server"
[[ "$st" == NXDOMAIN ]] || fail "web still resolves after its teardown ($st)"
[[ "$(q api)" == 10.89.7.3 ]] || fail "api after c1's teardown: '$(q api)'"
[[ "$(cat "$PIDFILE")" == "$DNS_PID" ]] || fail "the DNS server was restarted instead of reloaded"
ok "teardown of c1: netd reloaded (SIGHUP), web is gone, api stays"

setup_json "$ID2" api 10.89.7.3 '["api"]' | nv teardown "/proc/$C2/ns/net" 2>"$T/err4" ||
  fail "netavark teardown c2: $(cat "$T/err4")"
for ((w = 0; w < 50; w++)); do kill -0 "$DNS_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DNS_PID" 2>/dev/null; then fail "netd (aardvark-dns) still runs after the last teardown"; fi
ok "the last teardown stopped netd"
pass
