#!/usr/bin/env bash
# Killing `netd network` mid-operation, and containers or the rootless netns
# dying under it: the next call repairs the state (issue 6). Deterministic
# kills come from NETD_TEST_CRASH_AT (bridge/crash_point.h: the process
# SIGKILLs itself at a named instant); then real SIGKILLs at random instants
# of concurrent connects. After each, the records, the links in the rootless
# netns, the engine's port forwards, the firewall and DNS must agree again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bridge_lib.sh"
need_tools nft

world_up
"$NETD" network create net >/dev/null || fail "create net"
API=$NETD_RUNTIME_DIR/attach.sock

crash() {  # POINT ARGS...: run netd network ARGS, expecting it to die at POINT
  local point=$1 rc=0
  shift
  NETD_TEST_CRASH_AT=$point "$NETD" network "$@" >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 137 ]] || fail "netd network $* did not die at $point (rc=$rc)"
}
# The state is consistent: every recorded member has its veth in the rootless
# netns and its address in its container, no veth is unrecorded, every
# recorded forward exists in the engine and no other one does.
consistent() {
  "$PY" - "$NETD_RUNTIME_DIR" <<'PY' >"$T/records"
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/networks/*.json"):
    for m in json.load(open(f))["members"]:
        print(m["host_veth"], m["netns"], m["ipv4"], m["container"],
              ",".join(str(p["forward_id"]) for p in m.get("ports", [])) or "-")
PY
  rn ip -br link | awk '/^veth/ {sub(/@.*/, "", $1); print $1}' | sort >"$T/veths"
  awk '{print $1}' "$T/records" | sort >"$T/recorded"
  diff "$T/veths" "$T/recorded" >/dev/null || { log "veths: $(cat "$T/veths") records: $(cat "$T/records")"; return 1; }
  local veth netns ip name fwd
  while read -r veth netns ip name fwd; do
    in_c "$netns" ip -4 -o addr show eth0 2>/dev/null | grep -c "inet $ip/" >/dev/null ||
      { log "$name has no $ip"; return 1; }
  done <"$T/records"
  "$NETD" ctl -s "$API" '{"execute":"list_hostfwd"}' |
    "$PY" -c 'import json,sys; [print(e["id"]) for e in json.load(sys.stdin)["return"]["entries"]]' |
    sort >"$T/fwds"
  awk '$5 != "-" {n = split($5, a, ","); for (i = 1; i <= n; i++) print a[i]}' "$T/records" | sort >"$T/recfwds"
  diff "$T/fwds" "$T/recfwds" >/dev/null || { log "forwards $(cat "$T/fwds") recorded $(cat "$T/recfwds")"; return 1; }
}
holders() { pgrep -cx netd-netns || true; }

log "killed while creating the rootless netns: no holder survives"
mkctr; A=$CTR
crash netns-before-record connect net --netns "$A" --name a
for ((i = 0; i < 30; i++)); do [[ "$(holders)" == 0 ]] && break; sleep 0.1; done
[[ "$(holders)" == 0 ]] || fail "a holder outlived the killed call: $(pgrep -ax netd-netns)"
[[ -e "$NETD_RUNTIME_DIR/rootless-netns.json" ]] && fail "a record was written"
for ((i = 0; i < 30; i++)); do pgrep -f "netd slirp4netns" >/dev/null || break; sleep 0.1; done
if pgrep -af "netd slirp4netns"; then fail "the outward engine outlived its namespace"; fi
"$NETD" network connect net --netns "$A" --name a >/dev/null || fail "connect after the crash"
[[ "$(holders)" == 1 ]] || fail "holders: $(holders)"
consistent || fail "inconsistent after the netns crash"
ok "no holder or engine left behind; the next connect works"

log "killed between creating a veth and recording it"
mkctr; B=$CTR
crash connect-after-veth connect net --netns "$B" --name b
in_c "$B" ip link show eth0 >/dev/null 2>&1 || fail "the crash point came before the veth existed"
mkctr; C=$CTR
"$NETD" network connect net --netns "$C" --name c >/dev/null || fail "connect c"
if in_c "$B" ip link show eth0 >/dev/null 2>&1; then fail "b's orphan veth survived the next call"; fi
consistent || fail "inconsistent after connect-after-veth"
"$NETD" network connect net --netns "$B" --name b >/dev/null || fail "b cannot connect again"
ok "the orphan veth is deleted by the next call; b connects again"

log "killed between adding a port forward and recording it"
mkctr; D=$CTR
crash connect-after-forward connect net --netns "$D" --name d -p 127.0.0.1:19000:80
"$NETD" network disconnect net --name c >/dev/null || fail "disconnect c"
consistent || fail "inconsistent after connect-after-forward"
"$NETD" network connect net --netns "$D" --name d -p 127.0.0.1:19000:80 >/dev/null || fail "19000 not free again"
ok "the orphan forward (host port 19000) is removed; the port can be published again"

log "killed after recording, before the firewall and DNS"
mkctr; E=$CTR
crash connect-after-state connect net --netns "$E" --name e -p 127.0.0.1:19001:80
nft_table >"$T/nft"
if grep -q "dport 19001" "$T/nft"; then fail "the crash point came after the firewall"; fi
mkctr; F=$CTR
"$NETD" network connect net --netns "$F" --name f >/dev/null || fail "connect f"
nft_table >"$T/nft"
grep -q "dport 19001" "$T/nft" || fail "the next call did not restore e's DNAT rule"
GW=10.89.0.1
got=$(in_c "$F" dig +short +time=2 +tries=1 @"$GW" e)
[[ -n "$got" ]] || fail "e does not resolve after the next call"
consistent || fail "inconsistent after connect-after-state"
ok "the next call rewrites the firewall and DNS for e ($got)"

log "killed after a disconnect was recorded"
crash disconnect-after-state disconnect net --name e
"$NETD" network connect net --netns "$C" --name c >/dev/null || fail "connect c again"
nft_table >"$T/nft"
if grep -q "dport 19001" "$T/nft"; then fail "e's DNAT rule survived"; fi
consistent || fail "inconsistent after disconnect-after-state"
ok "the next call drops e's rules"

log "a container dies: its lease is released"
IPB=$(grep -A3 '"container": "b"' "$NETD_RUNTIME_DIR/networks/net.json" | sed -n 's/.*"ipv4": "\(.*\)".*/\1/p')
kill "$B"
for ((i = 0; i < 30; i++)); do [[ -e "/proc/$B" ]] || break; sleep 0.1; done
mkctr; G=$CTR
got=$("$NETD" network connect net --netns "$G" --name g) || fail "connect g"
[[ "$got" == "$IPB" ]] || fail "g got $got, not b's released address $IPB"
grep -q '"container": "b"' "$NETD_RUNTIME_DIR/networks/net.json" && fail "dead b still recorded"
consistent || fail "inconsistent after b died"
ok "b's address $IPB went to the next container"

log "real SIGKILLs at random instants of concurrent connects"
"$NETD" network create many >/dev/null || fail "create many"
KC=()
for k in $(seq 1 6); do mkctr; KC+=("$CTR"); done  # not $i: mkctr's helpers use it
KP=()
for k in $(seq 1 6); do
  "$NETD" network connect many --netns "${KC[$((k - 1))]}" --name "k$k" -p "127.0.0.1:$((19100 + k)):80" >/dev/null 2>&1 &
  KP+=($!)
done
for p in "${KP[@]}"; do
  sleep "0.0$((RANDOM % 10))"
  kill -9 "$p" 2>/dev/null || true
done
for p in "${KP[@]}"; do wait "$p" 2>/dev/null || true; done
mkctr
"$NETD" network connect many --netns "$CTR" --name survivor >/dev/null || fail "connect after random kills"
consistent || fail "inconsistent after random kills"
[[ "$(holders)" == 1 ]] || fail "holders after random kills: $(holders)"
ok "after random kills: records, veths, addresses and forwards agree ($(grep -c ' k[0-9] ' "$T/records" || true) of 6 killed connects had finished)"

log "the outward engine dies: the next call starts a new one and publishes the ports again"
ENGINE=$(rootless_pid attach_pid)
kill -9 "$ENGINE"
gone "$ENGINE" || fail "engine $ENGINE did not die"
mkctr; J=$CTR
"$NETD" network connect net --netns "$J" --name j >/dev/null 2>"$T/err" || fail "connect after the engine died: $(cat "$T/err")"
[[ "$(rootless_pid attach_pid)" != "$ENGINE" ]] || fail "the dead engine is still recorded"
consistent || { cat "$T/records" >&2; fail "inconsistent after the engine died"; }
[[ -s "$T/fwds" ]] || fail "no forwards after the engine restart"
ping_ok "$J" 198.51.100.10 || fail "no outward traffic after the engine restart"
ok "engine restarted; $(wc -l <"$T/fwds") recorded forwards published again; outward traffic flows"

log "the rootless netns dies: the next call starts afresh"
OLD=$(rootless_pid pid)
OLD_ATTACH=$(rootless_pid attach_pid)
OLD_DNS=$(cat "$NETD_RUNTIME_DIR/dns.pid")
kill -9 "$OLD"
gone "$OLD" || fail "holder $OLD did not die"
mkctr; H=$CTR
"$NETD" network connect net --netns "$H" --name h >/dev/null 2>"$T/err" || fail "connect after the holder died: $(cat "$T/err")"
[[ "$(rootless_pid pid)" != "$OLD" ]] || fail "the old holder is still recorded"
gone "$OLD_ATTACH" || fail "the old outward engine is still running"
gone "$OLD_DNS" || fail "the old DNS server is still running"
consistent || fail "inconsistent after the holder died"
[[ "$(wc -l <"$T/records")" == 1 ]] || fail "members of the old netns not dropped: $(cat "$T/records")"
got=$(in_c "$H" dig +short +time=2 +tries=1 @10.89.0.1 h)
[[ -n "$got" ]] || fail "DNS does not answer in the new rootless netns"
ok "a new rootless netns; old members dropped; old engine and DNS server stopped; DNS answers"
pass
