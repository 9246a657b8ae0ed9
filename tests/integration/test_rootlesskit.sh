#!/usr/bin/env bash
# Real client: Debian's RootlessKit runs netd (through a symlink named
# slirp4netns) exactly as it runs slirp4netns, with its slirp4netns port
# driver: `-p 127.0.0.1:PORT:80/tcp` and `-p 198.51.100.1:PORT:80/tcp` reach a
# web server inside RootlessKit's namespace; the server sees the world
# client's real address (loopback clients appear as the gateway, as with
# slirp4netns); a port added and removed at run time with rootlessctl works
# and then refuses; when the command inside exits, RootlessKit exits 0 and
# leaves no netd process and no listening socket behind.
#
# RootlessKit maps subordinate ids with newuidmap, so the harness provides
# them (NETD_HARNESS_SUBIDS, see lib.sh); as root it only warns that root is
# unsupported and carries on.
NETD_HARNESS_SUBIDS=1
source "$(dirname "$0")/lib.sh"

need_tools rootlesskit newuidmap
ln -s "$NETD_BIN" "$T/slirp4netns"
# netd's DNS upstreams come from resolv.conf: keep them on this namespace's
# loopback (nothing here queries DNS, but nothing may leave either).
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
world_up

mkdir -p "$T/www"
echo "hello through rootlesskit" >"$T/www/index.html"
mkfifo "$T/stop"
# Inside: a web server on port 80 until the test writes to the stop fifo.
cat >"$T/inner.sh" <<EOF
"$PY" -m http.server 80 --directory "$T/www" 2>"$T/access.log" &
srv=\$!
read -r _ <"$T/stop"
kill \$srv
wait \$srv
exit 0
EOF
rootlesskit --state-dir="$T/rk" --net=slirp4netns --slirp4netns-binary="$T/slirp4netns" \
  --port-driver=slirp4netns --disable-host-loopback \
  -p 127.0.0.1:18480:80/tcp -p 198.51.100.1:18481:80/tcp \
  -- sh "$T/inner.sh" >"$NETD_LOG" 2>&1 &  # (lib.sh shows this log when the test fails)
RK=$!
PIDS+=("$RK")

get() { "$PY" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())' "$1"; }
out=""
for ((i = 0; i < 100; i++)); do
  out=$(get http://127.0.0.1:18480/ 2>/dev/null) && break
  kill -0 "$RK" 2>/dev/null || { cat "$NETD_LOG" >&2; fail "rootlesskit exited early"; }
  sleep 0.1
done
[[ "$out" == "hello through rootlesskit" ]] || { cat "$NETD_LOG" >&2; fail "no answer on 127.0.0.1:18480: '$out'"; }
grep -q "^10.0.2.2 .*GET / " "$T/access.log" || fail "the server did not log the gateway address: $(cat "$T/access.log")"
ok "host loopback -> RootlessKit's namespace through netd's port driver (the server saw 10.0.2.2)"

out=$(in_world "$PY" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())' http://198.51.100.1:18481/) ||
  fail "world client: $out"
[[ "$out" == "hello through rootlesskit" ]] || fail "world client got '$out'"
grep -q "^198.51.100.10 .*GET / " "$T/access.log" || fail "the server did not see the world client's address: $(cat "$T/access.log")"
ok "world client -> RootlessKit's namespace; the server saw the client's real address 198.51.100.10"

ctl() { rootlessctl --socket "$T/rk/api.sock" "$@"; }
id=$(ctl add-ports 127.0.0.1:18482:80/tcp) || fail "rootlessctl add-ports: $id"
out=$(get http://127.0.0.1:18482/) || fail "port added at run time: $out"
[[ "$out" == "hello through rootlesskit" ]] || fail "port added at run time got '$out'"
ctl list-ports | grep -q 18482 || fail "list-ports: $(ctl list-ports)"
ctl remove-ports "$id" >/dev/null || fail "rootlessctl remove-ports $id"
rc=0
get http://127.0.0.1:18482/ >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "a removed port still answers"
ok "rootlessctl add-ports / remove-ports at run time (id $id)"

# The netd process RootlessKit started (its slirp4netns).
netd_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null || true)
    [[ "$exe" == "$(readlink -f "$NETD_BIN")" ]] && echo "${p#/proc/}"
  done
  return 0
}
[[ -n "$(netd_pids)" ]] || fail "no netd process while RootlessKit runs"
echo stop >"$T/stop"
rc=0
for ((i = 0; i < 100; i++)); do kill -0 "$RK" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RK" 2>/dev/null && fail "rootlesskit still runs after its command exited"
wait "$RK" || rc=$?
[[ $rc -eq 0 ]] || { cat "$NETD_LOG" >&2; fail "rootlesskit exited with $rc"; }
left=""
for ((i = 0; i < 50; i++)); do
  left=$(netd_pids)
  [[ -z "$left" ]] && break
  sleep 0.1
done
[[ -z "$left" ]] || fail "netd processes left behind: $left"
[[ -z "$(ss -Hltn 'sport >= :18480 and sport <= :18482')" ]] || fail "sockets left behind: $(ss -Hltn)"
ok "the command's exit ends RootlessKit (status 0); no netd process or listening socket is left"
pass
