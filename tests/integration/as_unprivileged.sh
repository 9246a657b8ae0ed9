#!/usr/bin/env bash
# Runs one integration test as an unprivileged user, the way netd is used:
#   as_unprivileged.sh [--or-as-me] test_foo.sh
# As root, it prepares what a common distribution has (a user `netd-test`,
# /dev/net/tun mode 0666), copies the netd binary and the test scripts where
# that user can read them, and runs the test as that user. As a non-root user
# the plain integration run already is unprivileged: exit 77 (skipped),
# unless NETD_NO_SKIP is set (CI: lib.sh), where a skip is a failure; with
# --or-as-me (tests that have no separate root run) the test runs as the
# calling user instead.
set -euo pipefail
or_as_me=
if [[ $1 == --or-as-me ]]; then
  or_as_me=1
  shift
fi
test_script=$1
: "${NETD_BIN:?}"
if [[ $(id -u) -ne 0 && -n $or_as_me ]]; then
  exec bash "$test_script"
fi
if [[ $(id -u) -ne 0 ]]; then
  if [[ -n "${NETD_NO_SKIP:-}" ]]; then
    echo "FAIL: NETD_NO_SKIP is set but this is not root: the unprivileged variant cannot run" >&2
    exit 1
  fi
  echo "SKIP: already unprivileged: the plain integration run covers this" >&2
  exit 77
fi
user=netd-test
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
# Subordinate ids, as useradd gives every new user on common distributions
# (tests that run RootlessKit need them).
grep -q "^$user:" /etc/subuid 2>/dev/null || usermod --add-subuids 100000-165535 "$user"
grep -q "^$user:" /etc/subgid 2>/dev/null || usermod --add-subgids 100000-165535 "$user"
chmod 0666 /dev/net/tun
stage=$(mktemp -d /tmp/netd-unpriv.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$NETD_BIN" "$stage/netd"
# The takeover test's binary, built beside netd with the tests.
takeover="$(dirname "$NETD_BIN")/netd-takeover"
if [[ -x "$takeover" ]]; then cp "$takeover" "$stage/netd-takeover"; fi
cp -r "$(dirname "$test_script")" "$stage/integration"
chmod -R a+rX "$stage"
cd "$stage"
runuser -u "$user" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="/home/$user" \
  NETD_BIN="$stage/netd" NETD_SRC="$stage" NETD_NO_SKIP="${NETD_NO_SKIP:-}" \
  NETD_TEST_NO_URING="${NETD_TEST_NO_URING:-}" \
  bash "$stage/integration/$(basename "$test_script")"
