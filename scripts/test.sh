#!/usr/bin/env bash
# Builds netd and runs the whole test suite: the unit tests, then the
# namespace integration tests (as the calling user and, when that is root,
# again as an unprivileged user). Exit status: 0 only if every test passed.
# A test that cannot run here (a tool missing) is reported as skipped; with
# NETD_NO_SKIP=1 (set by .ci/run) every skip is a failure instead: the test
# itself fails (tests/integration/lib.sh), and so does this script if ctest
# still reports a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
# (the Debian 13 root test_podman5 needs, the Debian 12 root test_package installs into)
scripts/install-deps.sh --with-podman5 --with-package-root
BUILD=${NETD_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DNETD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure --timeout 600 -j"$(nproc)" -L unit
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir "$BUILD" --output-on-failure --timeout 600 -L integration | tee "$log"
if [[ -n "${NETD_NO_SKIP:-}" ]] && grep -q "\*\*\*Skipped\|Not Run" "$log"; then
  echo "test.sh: NETD_NO_SKIP is set and these tests were skipped:" >&2
  grep "\*\*\*Skipped\|Not Run" "$log" >&2
  exit 1
fi
