#!/usr/bin/env bash
# The README's commands:
#   a. every command line of the README's bash blocks (comments and a leading
#      `sudo` left off) appears, as written, in an integration test or in
#      .ci/run, which runs it: this file runs the "Example" and "Use it for
#      port forwarding" blocks; test_install.sh `cmake --install build`;
#      test_package.sh the package, `netd setup podman --user`, `netd
#      doctor` and `podman run`; test_demo.sh scripts/demo.sh; .ci/run
#      scripts/test.sh. (Only where the README is at hand: the unprivileged
#      run has a copy of the tests and the binary alone.)
#   b. The Example: `netd attach --configure` in the background, then a ping
#      from the container to the gateway.
#   c. Port forwarding: `netd pasta --config-net -t 8080:80` returns once the
#      namespace is configured, and a web server in the container answers
#      curl on 127.0.0.1:8080 through netd's tap; `netd forward` answers on
#      127.0.0.1:8081 by splice.
# Lines run as written, netd from PATH; between them the test waits for what
# a person would wait for (a namespace to appear, a server to listen).
source "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$NETD_BIN"):$PATH"
cd "$T"

# --- a. ------------------------------------------------------------------------------
if [[ -f "$NETD_SRC/README.md" ]]; then
  # What the tests run: their lines that are not comments (this file's own
  # check lines quote nothing from the README).
  grep -hv '^[[:space:]]*#' "$HERE"/*.sh "$NETD_SRC/.ci/run" >"$T/covered"
  n=0
  while IFS= read -r cmd; do
    n=$((n + 1))
    grep -qF -- "$cmd" "$T/covered" || fail "README command not run by any test: $cmd"
  done < <(awk '/^```bash$/ {on = 1; next} /^```/ {on = 0} on' "$NETD_SRC/README.md" |
    sed -E 's/[[:space:]]+#[[:space:]].*$//; s/^sudo //; s/[[:space:]]+$//' | grep -v '^$')
  ((n >= 10)) || fail "only $n command lines found in the README's bash blocks"
  ok "all $n command lines of the README's bash blocks are run by tests"
else
  log "README.md is not in this copy of the tests: its coverage is checked in the root run"
fi

# --- b. the Example --------------------------------------------------------------------
unshare --user --map-root-user --net sleep infinity & CTR=$!; sleep 0.5
PIDS+=("$CTR")
wait_ns "$CTR" net || fail "the container namespace did not appear"
netd attach --configure $CTR &      # tap0 with 10.0.2.100/24, default route via 10.0.2.2
PIDS+=("$!")
retry 50 nsenter --preserve-credentials -U -n -t "$CTR" ip -4 addr show tap0 to 10.0.2.100/24 ||
  fail "netd attach did not configure tap0"
out=$(nsenter --preserve-credentials -U -n -t $CTR ping -c 3 10.0.2.2) || fail "ping 10.0.2.2: $out"
grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "ping 10.0.2.2: $out"
ok "Example: netd attach --configure; the container pings 10.0.2.2"

# --- c. Use it for port forwarding -----------------------------------------------------
unshare --user --map-root-user --net sleep infinity & CTR=$!; sleep 0.5
PIDS+=("$CTR")
wait_ns "$CTR" net || fail "the container namespace did not appear"
netd pasta --config-net -t 8080:80 $CTR 2>"$T/pasta.log" || fail "netd pasta: $(cat "$T/pasta.log")"
in_ctr_ns() { nsenter --preserve-credentials -U -n -t "$CTR" "$@"; }
[[ -n "$(in_ctr_ns ip -4 route show default)" ]] || fail "netd pasta returned before the namespace had its routes"
mkdir -p "$T/www" && cd "$T/www" && echo "hello from the container" >index.txt
nsenter --preserve-credentials -U -n -t $CTR python3 -m http.server 80 &
PIDS+=("$!")
wait_listening 80 in_ctr_ns
out=$(curl -sS http://127.0.0.1:8080/index.txt) || fail "curl 127.0.0.1:8080"
[[ $out == "hello from the container" ]] || fail "curl 127.0.0.1:8080 got: $out"
curl -sS http://127.0.0.1:8080/ | grep -q "index.txt" || fail "curl http://127.0.0.1:8080/ got no listing"
ok "netd pasta --config-net -t 8080:80: a container's web server on the host's 127.0.0.1:8080"
netd forward -p 127.0.0.1:8081:80 $CTR &
PIDS+=("$!")
wait_listening 8081 env
curl http://127.0.0.1:8081/ | grep -q "index.txt" || fail "curl http://127.0.0.1:8081/ got no listing"
out=$(curl -sS http://127.0.0.1:8081/index.txt) || fail "curl 127.0.0.1:8081"
[[ $out == "hello from the container" ]] || fail "curl 127.0.0.1:8081 got: $out"
ok "netd forward -p 127.0.0.1:8081:80: the same server on 127.0.0.1:8081"
pass
