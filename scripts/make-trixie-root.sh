#!/usr/bin/env bash
# The Debian 13 root with Podman 5 for tests/integration/test_podman5.sh and
# bench/podman5.sh (/var/cache/netd/trixie-root, or DIR):
#
#   scripts/make-trixie-root.sh [DIR]
#
# scripts/make-debian-root.sh builds it (root "trixie-root"; that script says
# what it holds and how it is cached). NETD_TRIXIE_MIRROR names a Debian
# archive other than deb.debian.org.
set -euo pipefail
[[ -z "${NETD_TRIXIE_MIRROR:-}" ]] || export NETD_DEBIAN_MIRROR=$NETD_TRIXIE_MIRROR
exec "$(dirname "$0")/make-debian-root.sh" trixie-root "$@"
