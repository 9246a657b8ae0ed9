#!/bin/bash
# Integration test for `netd network` (issue 6): bridge networks in the
# per-user rootless netns. Runs as root and as an unprivileged user.
# Containers are `unshare -Urn sleep` holders; traffic flows only between
# namespaces this test created. Every process started here is killed by pid.
set -u

# Run inside a fresh user + network + pid + mount namespace (the "host" of
# this test, as in lib.sh): the rootless netns's outward `netd attach` then
# has no route off the machine, and no process outlives the test.
if [[ -z "${NETD_HARNESS_INNER:-}" ]]; then
  exec timeout --kill-after=5 240 unshare --user --map-root-user --net --pid --mount --fork --mount-proc \
    env NETD_HARNESS_INNER=1 bash "$0" "$@"
fi
ip link set lo up

NETD=${NETD_BIN:?set NETD_BIN to the netd binary}
WORK=$(mktemp -d /tmp/netd-bridge-test.XXXXXX)
export NETD_CONFIG_DIR=$WORK/config NETD_RUNTIME_DIR=$WORK/run XDG_RUNTIME_DIR=$WORK/xdg
PIDS=()

cleanup() {
  for n in $("$NETD" network ls -q 2>/dev/null); do "$NETD" network rm "$n" >/dev/null 2>&1; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

if command -v ping >/dev/null; then PING=(ping); elif command -v busybox >/dev/null; then PING=(busybox ping);
else fail "needs ping or busybox"; fi
for t in unshare nsenter ip; do command -v "$t" >/dev/null || fail "needs $t"; done

# Starts a container namespace holder; prints its pid once its netns is its own.
mkctr() {
  unshare -Urn sleep 1000 &
  local pid=$! i
  PIDS+=("$pid")
  for i in $(seq 1 50); do
    [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.1
  done
  [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] || fail "container $pid did not start"
  CTR=$pid
}
in_ctr() { local pid=$1; shift; nsenter -t "$pid" -U -n --preserve-credentials "$@"; }
ping_ok() { in_ctr "$1" "${PING[@]}" -c 1 -W 2 "$2" >/dev/null 2>&1; }

step "create networks"
"$NETD" network create front >/dev/null || fail "create front"
"$NETD" network create back >/dev/null || fail "create back"
"$NETD" network create --internal --subnet 10.89.200.0/24 sealed >/dev/null || fail "create sealed"
"$NETD" network create front >/dev/null 2>&1 && fail "duplicate create succeeded"
"$NETD" network create 'bad/name' >/dev/null 2>&1 && fail "bad name accepted"
[ "$("$NETD" network ls -q | tr '\n' ' ')" = "back front sealed " ] || fail "ls: $("$NETD" network ls -q)"
"$NETD" network inspect front | grep -q '"subnet": "10.89.0.0/24"' || fail "front is not 10.89.0.0/24"
"$NETD" network inspect back | grep -q '"subnet": "10.89.1.0/24"' || fail "back is not 10.89.1.0/24"
[ -f "$NETD_CONFIG_DIR/front.json" ] || fail "no front.json in $NETD_CONFIG_DIR"

step "connect containers"
mkctr; C1=$CTR; mkctr; C2=$CTR; mkctr; C3=$CTR; mkctr; C4=$CTR
IP1=$("$NETD" network connect front --netns "$C1" --name c1) || fail "connect c1"
IP2=$("$NETD" network connect front --netns "/proc/$C2/ns/net" --name c2 --alias web) || fail "connect c2"
IP3=$("$NETD" network connect back --netns "$C3" --name c3 --ip 10.89.1.50) || fail "connect c3"
IP4=$("$NETD" network connect sealed --netns "$C4" --name c4 --interface net0) || fail "connect c4"
[ "$IP1" = 10.89.0.2 ] && [ "$IP2" = 10.89.0.3 ] && [ "$IP3" = 10.89.1.50 ] && [ "$IP4" = 10.89.200.2 ] ||
  fail "addresses: $IP1 $IP2 $IP3 $IP4"
"$NETD" network connect front --netns "$C1" --name c1 >/dev/null 2>&1 && fail "duplicate connect succeeded"
"$NETD" network connect sealed --netns "$C1" --name c9 -p 8080:80 >/dev/null 2>&1 && fail "-p accepted on an internal network"
in_ctr "$C1" ip -4 addr show eth0 | grep "inet $IP1/24" >/dev/null || fail "c1 eth0 has no $IP1"
in_ctr "$C1" ip route | grep "default via 10.89.0.1" >/dev/null || fail "c1 has no default route"
in_ctr "$C4" ip -4 addr show net0 | grep "inet $IP4/24" >/dev/null || fail "c4 has no net0 with $IP4"
grep -q '"container": "c2"' "$NETD_RUNTIME_DIR/networks/front.json" || fail "c2 not recorded"

step "same network reaches, other networks do not"
ping_ok "$C1" "$IP2" || fail "c1 cannot ping c2 ($IP2) on the same network"
ping_ok "$C2" "$IP1" || fail "c2 cannot ping c1 ($IP1)"
ping_ok "$C1" 10.89.0.1 || fail "c1 cannot ping its gateway"
ping_ok "$C1" "$IP3" && fail "c1 (front) reached c3 (back): isolation broken"
ping_ok "$C3" "$IP1" && fail "c3 (back) reached c1 (front): isolation broken"
if command -v socat >/dev/null; then
  in_ctr "$C2" timeout 10 socat TCP-LISTEN:8080,reuseaddr SYSTEM:'echo hello' &
  SRV=$!; PIDS+=("$SRV")
  got=""
  for i in $(seq 1 30); do
    got=$(in_ctr "$C1" timeout 3 socat -T 2 - "TCP:$IP2:8080" </dev/null 2>/dev/null) && break
    sleep 0.1
  done
  [ "$got" = hello ] || fail "TCP c1 -> c2 failed (got '$got')"
fi

step "internal network has no way out"
in_ctr "$C4" ip route | grep -q default && fail "internal c4 has a default route"
ping_ok "$C4" "$IP1" && fail "internal c4 reached c1"
ping_ok "$C1" "$IP4" && fail "c1 reached internal c4"

step "disconnect"
HV2=$("$NETD" network inspect front | sed -n 's/.*"host_veth": "\(.*\)".*/\1/p' | tail -1)
"$NETD" network disconnect front --name c2 || fail "disconnect c2"
in_ctr "$C2" ip link show eth0 >/dev/null 2>&1 && fail "c2 still has eth0"
"$NETD" rootless-netns ip link show "$HV2" >/dev/null 2>&1 && fail "host veth $HV2 still exists"
grep -q '"c2"' "$NETD_RUNTIME_DIR/networks/front.json" && fail "c2 still recorded"
"$NETD" network disconnect front --name c2 >/dev/null 2>&1 && fail "second disconnect succeeded"

step "20 concurrent connects"
"$NETD" network create many >/dev/null || fail "create many"
MANY=()
for i in $(seq 1 20); do mkctr; MANY+=("$CTR"); done
CPIDS=()
for i in $(seq 0 19); do
  "$NETD" network connect many --netns "${MANY[$i]}" --name "m$i" >"$WORK/ip.$i" 2>"$WORK/err.$i" &
  CPIDS+=($!)
done
for p in "${CPIDS[@]}"; do wait "$p" || fail "a concurrent connect failed: $(cat "$WORK"/err.* | sort -u | head -3)"; done
n=$(cat "$WORK"/ip.* | sort -u | wc -l)
[ "$n" = 20 ] || fail "20 connects gave $n distinct addresses: $(cat "$WORK"/ip.* | sort | tr '\n' ' ')"
ping_ok "${MANY[0]}" "$(cat "$WORK/ip.19")" || fail "m0 cannot reach m19"

step "rm removes bridges, veths, rules and state"
HOLDER=$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$NETD_RUNTIME_DIR/rootless-netns.json" | head -1)
[ -n "$HOLDER" ] || fail "no rootless netns record"
"$NETD" network rm many >/dev/null || fail "rm many"
"$NETD" rootless-netns ip -br link > "$WORK/links" 2>/dev/null || fail "rootless-netns ip link failed"
grep -q netdbr3 "$WORK/links" && fail "bridge of 'many' still exists"
[ "$(grep -c '^veth' "$WORK/links")" = 3 ] || fail "expected 3 veths (c1, c3, c4) left: $(cat "$WORK/links")"
[ -e "$NETD_RUNTIME_DIR/networks/many.json" ] && fail "state of 'many' left behind"
[ -e "$NETD_CONFIG_DIR/many.json" ] && fail "config of 'many' left behind"
for n in front back sealed; do "$NETD" network rm "$n" >/dev/null || fail "rm $n"; done
in_ctr "$C1" ip link show eth0 >/dev/null 2>&1 && fail "c1 still has eth0 after rm front"
[ -e "$NETD_RUNTIME_DIR/rootless-netns.json" ] && fail "rootless netns record left after the last rm"
for i in $(seq 1 20); do
  st=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$HOLDER/status" 2>/dev/null)
  [ -z "$st" ] || [ "$st" = Z ] && break
  sleep 0.1
done
[ -z "$st" ] || [ "$st" = Z ] || fail "rootless netns holder $HOLDER still running"
[ -z "$("$NETD" network ls -q)" ] || fail "networks left"
"$NETD" network rm front >/dev/null 2>&1 && fail "rm of a missing network succeeded"

echo "PASS"
