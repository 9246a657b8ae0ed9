#!/usr/bin/env bash
# Builds (or finds ready) a Debian 13 "trixie" root file system holding
# Podman 5 and the tools it drives, for tests/integration/test_podman5_*.sh
# and bench/podman5.sh:
#
#   scripts/make-trixie-root.sh [DIR]     (default /var/cache/netd/trixie-root)
#
# Theory of operation. debootstrap installs trixie from Debian's packages
# (variant minbase, plus the packages listed below) into DIR.new, which is
# renamed to DIR once complete, so a half-built root is never used. DIR/.stamp
# records the package list and the suite it was built from: when they match,
# the script does nothing (a warm run takes well under a second); when they
# differ (the list below changed), the root is rebuilt from scratch. The root
# is made readable by everyone: the integration tests also run as an
# unprivileged user, who enters it read-only through a private mount
# namespace (tests/integration/podman5_lib.sh says how).
#
# The packages: podman with what it runs (conmon, runc; crun comes along as
# podman's default runtime), its network tools (passt for pasta, netavark,
# aardvark-dns, and nftables, whose nft netavark calls), uidmap, a static
# busybox, and the shared libraries that netd, built on this machine's Debian
# 12, needs to run inside the root (netd then stands in for pasta and
# aardvark-dns there). Needs root; writes only DIR, DIR.new and DIR.old.
set -euo pipefail

DIR=${1:-/var/cache/netd/trixie-root}
SUITE=trixie
MIRROR=${NETD_TRIXIE_MIRROR:-http://deb.debian.org/debian}
PACKAGES=(podman conmon runc crun passt netavark aardvark-dns nftables uidmap busybox-static iproute2
  libcares2 liburing2 libnl-3-200 libnl-route-3-200 libnftables1 libseccomp2 libcap-ng0 libstdc++6)

if [[ $(id -u) -ne 0 ]]; then
  echo "make-trixie-root: needs root (debootstrap)" >&2
  exit 1
fi
STAMP="suite=$SUITE packages=${PACKAGES[*]}"
if [[ -f "$DIR/.stamp" && "$(cat "$DIR/.stamp")" == "$STAMP" ]]; then
  exit 0
fi

command -v debootstrap >/dev/null || {
  # shellcheck source=apt-install-missing.sh
  source "$(dirname "$0")/apt-install-missing.sh"
  apt_install_missing make-trixie-root debootstrap
}

start=$(date +%s)
echo "make-trixie-root: building $DIR (debian $SUITE: ${PACKAGES[*]})" >&2
mkdir -p "$(dirname "$DIR")"
chmod 0755 "$(dirname "$DIR")"
rm -rf "$DIR.new"
include=$(
  IFS=,
  echo "${PACKAGES[*]}"
)
if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$DIR.new" "$MIRROR" >"$DIR.log" 2>&1; then
  tail -n 20 "$DIR.log" >&2
  [[ -f "$DIR.new/debootstrap/debootstrap.log" ]] && tail -n 20 "$DIR.new/debootstrap/debootstrap.log" >&2
  rm -rf "$DIR.new"
  echo "make-trixie-root: debootstrap failed (log: $DIR.log)" >&2
  exit 1
fi
# What the tests do not need: the package cache and lists.
rm -rf "$DIR.new"/var/cache/apt/archives/*.deb "$DIR.new"/var/lib/apt/lists/*
# A plain file for the tests to mount their own DNS server's resolv.conf over
# (debootstrap copied this machine's), and subordinate-id files likewise.
printf 'nameserver 127.0.0.1\n' >"$DIR.new/etc/resolv.conf"
touch "$DIR.new/etc/subuid" "$DIR.new/etc/subgid"
chmod -R a+rX "$DIR.new"
echo "$STAMP" >"$DIR.new/.stamp"
rm -rf "$DIR.old"
[[ -e "$DIR" ]] && mv "$DIR" "$DIR.old"
mv "$DIR.new" "$DIR"
rm -rf "$DIR.old"
echo "make-trixie-root: $DIR ready in $(($(date +%s) - start)) s ($(du -sh "$DIR" | cut -f1))" >&2
