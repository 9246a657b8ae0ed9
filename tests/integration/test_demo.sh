#!/usr/bin/env bash
# netd-test: root only (no unprivileged variant: see tests/CMakeLists.txt)
# scripts/demo.sh, the README's first command, without a terminal: it
# installs what is missing (nothing, here), builds netd in build/ and tours a
# container namespace attached by netd (DHCP, pings, UDP and HTTP to the
# host's loopback through the gateway, DNS through netd's forwarder), all in
# namespaces of its own. It builds the source tree's build/, so it runs only
# when that is the tree under test (as root: it may call apt-get); skipped
# (77) otherwise.
set -euo pipefail
: "${NETD_BIN:?}" "${NETD_SRC:?}"
log() { echo "[$(date +%T)] $*" >&2; }
if [[ $(id -u) -ne 0 || ! -f "$NETD_SRC/scripts/demo.sh" ||
  "$(readlink -f "$NETD_BIN")" != "$(readlink -f "$NETD_SRC/build/bin/netd" 2>/dev/null)" ]]; then
  log "SKIP: scripts/demo.sh builds $NETD_SRC/build: run as root with that tree's netd under test"
  exit 77
fi
out=$(cd "$NETD_SRC" && timeout --kill-after=5 240 scripts/demo.sh </dev/null 2>&1) || {
  echo "$out" >&2
  log "FAIL: scripts/demo.sh exited non-zero"
  exit 1
}
for want in "netd attach is running" "2 packets transmitted, 2 received" "hello from the container" \
  "hello from the host's 127.0.0.1:8000" "Demo done (no terminal"; do
  grep -qF "$want" <<<"$out" || {
    echo "$out" >&2
    log "FAIL: scripts/demo.sh did not show '$want'"
    exit 1
  }
done
log "PASS: test_demo.sh (scripts/demo.sh toured the container without a terminal)"
