#!/usr/bin/env bash
# Adversarial: a container on `netd pasta` tries every way to the host's
# loopback, with --no-map-gw (no way there at all, Podman 5's default) and
# with the gateway mapped (pasta's default when --no-map-gw is not given:
# the gateway, and only the gateway, leads there). The host
# namespace copies a real host (test_pasta.sh): an uplink 198.51.100.1/24 and
# 2001:db8::1/64 behind the world host 198.51.100.10 / 2001:db8::10, and
# its resolver on the loopback (127.0.0.53, as systemd-resolved), which
# --dns-forward 169.254.1.1 reaches (docs/security.md).
#
# Watched on the host: the tripwire (port 8099 of 127.0.0.1, 127.1.2.3,
# ::1), lo-watch (every attempt arriving on lo, any port), the resolver's
# log, netd's counters. Attempts: ordinary TCP, UDP and ICMP/ICMPv6 echo
# sockets to the gateway, the DNS and guest-alias addresses, link-local
# addresses with the interface's zone, 169.254.x, the NAT64 and
# IPv4-compatible forms of 127.0.0.1; hand-made frames (TCP SYN, UDP, ICMP
# and ICMPv6 echo) to 127.0.0.1, 127.0.0.53, 127.1.2.3, 0.0.0.0, the
# broadcasts, ::1, ::, ::ffff:127.0.0.1, ::127.0.0.1; DNS over UDP and TCP
# to every address; an abstract UNIX socket of the host's network namespace.
# (What netd carries to ordinary destinations such as 169.254.169.254 or
# 10.0.2.2 goes to the world namespace, which has no way out: it never
# leaves the test's namespaces.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adversary_lib.sh"
need_tools dig

world_up
host_uplink_up
printf 'nameserver 127.0.0.53\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
adv_watch_host
export DNS_LOG="$T/resolver"
host_server dns 53 127.0.0.53
unset DNS_LOG

run=()
[[ "$NETD_HARNESS_OUTER_UID" != 0 ]] && run=(setpriv --bounding-set=-all --inh-caps=-all)
mkdir -p "$T/bin"
ln -s "$NETD_BIN" "$T/bin/pasta"

# start_pasta ARGS...: a fresh container and `pasta --config-net ARGS` for it;
# NETD_PID is the daemon (its log: $NETD_LOG, for netd_counter).
start_pasta() {
  if [[ -n "$CTR" ]]; then  # the daemon ends when its namespace file goes
    umount "$T/netns.$CTR"
    rm -f "$T/netns.$CTR"
    wait_exit "$NETD_PID" 5 || fail "the previous pasta did not exit"
    kill "$CTR"
  fi
  container_up
  touch "$T/netns.$CTR"
  mount --bind "/proc/$CTR/ns/net" "$T/netns.$CTR"
  local out
  out=$(timeout 20 "${run[@]}" "$T/bin/pasta" --config-net --pid "$T/pasta.pid" -l "$NETD_LOG" \
    -t none -u none -T none -U none --dns-forward 169.254.1.1 --map-guest-addr 169.254.1.2 \
    --netns "$T/netns.$CTR" "$@" 2>&1) || fail "pasta $* failed: $out"
  NETD_PID=$(cat "$T/pasta.pid")
  PIDS+=("$NETD_PID")
  in_ctr ping -c 1 -W 2 198.51.100.10 >/dev/null || fail "ping the gateway"
  gwmac=$(in_ctr ip neigh show 198.51.100.10 | awk '{print $5}')
  [[ -n "$gwmac" ]] || fail "no gateway MAC"
}

# The attempts both modes make: (ordinary sockets, then hand-made frames).
ATTACKED=(198.51.100.10 169.254.1.1 169.254.1.2 169.254.169.254 10.0.2.2 2001:db8::10 fe80::1%veth-h
  fe80::2%veth-h 64:ff9b::7f00:1 ::127.0.0.1)
PROBED=(127.0.0.1 127.0.0.53 127.1.2.3 127.255.255.254 0.0.0.0 255.255.255.255 198.51.100.255 169.254.1.1
  ::1 :: ::ffff:127.0.0.1 ::127.0.0.1)
# The world host answers ping (a real host); so do netd's DNS address and
# the host's own address behind the guest alias.
PING_OK="^(198\.51\.100\.10|2001:db8::10|169\.254\.1\.[12]) icmp reply$"

# DNS: the DNS address reaches the resolver on the loopback, UDP and TCP.
dns_checks() {
  : >"$T/resolver"
  adv_mark
  adv_dns_expect in_ctr 169.254.1.1 192.0.2.55
  adv_dns_expect in_ctr 169.254.1.1 192.0.2.55 +tcp
  [[ $(grep -c "^udp query adv-" "$T/resolver") == 1 && $(grep -c "^tcp query adv-" "$T/resolver") == 1 ]] ||
    fail "the resolver should have seen one UDP and one TCP query: $(cat "$T/resolver")"
  adv_expect_quiet "DNS to --dns-forward" "$ADV_RESOLVER_OK"
}

# ------------------------------------------------------------- --no-map-gw
start_pasta --no-map-gw
dns_checks
ok "--no-map-gw: DNS over UDP and TCP to --dns-forward 169.254.1.1 reaches the resolver on 127.0.0.53"

adv_mark
adv_dns_silent in_ctr 198.51.100.10 169.254.1.2 2001:db8::10
adv_expect_quiet "--no-map-gw: DNS to the gateway and the guest alias"
ok "--no-map-gw: DNS to the gateway and to the guest alias: no answer, nothing on the loopback"

policy0=$(netd_counter drop_policy)
adv_mark
adv_attack in_ctr "${ATTACKED[@]}"
adv_expect_refused "$PING_OK"
adv_expect_result "198.51.100.10 tcp refused"  # the world host, where nothing listens on 8099
adv_expect_result "169.254.1.2 tcp refused"    # the host's own address, ditto
adv_probe in_ctr veth-h "$gwmac" "$TRIP" "^tcp reply from .* flags 0x14$|^icmp echo reply from 169\.254\.1\.1$" \
  "${PROBED[@]}"
adv_probe in_ctr veth-h "$gwmac" 53 "^tcp reply from .* flags 0x14$" 127.0.0.1 127.0.0.53 ::1
adv_expect_quiet "--no-map-gw: sockets and hand-made frames"
policy1=$(netd_counter drop_policy)
# (hand-made TCP, UDP and ICMP to 8 IPv4 and 4 IPv6 destinations, and to port 53 of 3)
((policy1 - policy0 >= 36)) || fail "drop_policy rose by $((policy1 - policy0)), expected at least 36"
ok "--no-map-gw: every attempt refused or answered only by the world host, netd's DNS address and the" \
  "host's own address; drop_policy +$((policy1 - policy0))"

adv_unix_isolated in_ctr
adv_no_abstract_sockets "$NETD_PID" 0
ok "an abstract UNIX socket of the host's network namespace is out of the container's reach; netd holds" \
  "$ADV_UNIX_SOCKETS UNIX socket(s), none with an abstract name"

# ------------------------------------------- the gateway mapped (the default)
start_pasta  # (mapping the gateway is pasta's default: there is no --map-gw option)
dns_checks
ok "mapped gateway: DNS to --dns-forward still reaches the resolver"
adv_mark
adv_attack in_ctr "${ATTACKED[@]}"
adv_expect_refused "$PING_OK|^(198\.51\.100\.10|2001:db8::10) tcp connected$"
adv_expect_result "198.51.100.10 tcp connected"
adv_expect_result "2001:db8::10 tcp connected"
adv_expect_result "169.254.1.2 tcp refused"
hits=$(adv_new_hits)
for want in "tripwire tcp 127.0.0.1 from 127.0.0.1" "tripwire udp 127.0.0.1 from 127.0.0.1" \
  "tripwire tcp ::1 from ::1" "tripwire udp ::1 from ::1" "icmp 127.0.0.1 127.0.0.1" "icmp ::1 ::1"; do
  grep -qxF "$want" <<<"$hits" || fail "mapped gateway: the gateway did not lead to the loopback ($want): $hits"
done
others=$(grep_or_none -Ev "^tripwire (tcp|udp) (127\.0\.0\.1 from 127\.0\.0\.1|::1 from ::1)$|^(tcp|udp) (127\.0\.0\.1 127\.0\.0\.1|::1 ::1) 8099$|^icmp (127\.0\.0\.1 127\.0\.0\.1|::1 ::1)$" <<<"$hits")
[[ -z "$others" ]] || fail "mapped gateway: something besides the gateway reached the loopback: $others"
[[ $(grep -c "^tripwire" <<<"$hits") == 4 ]] || fail "mapped gateway: expected 4 tripwire hits (TCP and UDP, both families): $hits"
ok "mapped gateway: TCP, UDP and ICMP to the gateway (198.51.100.10, 2001:db8::10) reach 127.0.0.1 and ::1;" \
  "nothing else does"
adv_mark
adv_probe in_ctr veth-h "$gwmac" "$TRIP" "^tcp reply from .* flags 0x14$|^icmp echo reply from 169\.254\.1\.1$" \
  "${PROBED[@]}"
adv_expect_quiet "mapped gateway: hand-made frames"
ok "mapped gateway: hand-made frames to 127/8, ::1, ::, v4-mapped and IPv4-compatible loopback reach nothing"
grep -q "seccomp: blocked" "$NETD_LOG" && fail "a system call was blocked"
pass
