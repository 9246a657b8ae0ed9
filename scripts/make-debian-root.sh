#!/usr/bin/env bash
# Builds (or finds ready) a cached Debian root file system for the tests that
# need a Debian of their own:
#
#   scripts/make-debian-root.sh NAME [DIR]     (default /var/cache/netd/NAME)
#
#   trixie-root      Debian 13 with Podman 5 and the tools it drives, for
#                    tests/integration/test_podman5.sh and bench/podman5.sh
#                    (scripts/make-trixie-root.sh is a name for this one):
#                    podman with conmon, runc (crun comes along as podman's
#                    default runtime), its network tools (passt for pasta,
#                    netavark, aardvark-dns, and nftables, whose nft netavark
#                    calls), uidmap, a static busybox, and the shared
#                    libraries netd, built on this machine's Debian 12, needs
#                    to run inside the root (netd then stands in for pasta and
#                    aardvark-dns there). The tests enter it read-only
#                    (tests/integration/podman5_lib.sh says how).
#   bookworm-podman  Debian 12 with Podman 4.3 (crun, conmon, netavark, its
#                    network stack), uidmap, a static busybox and procps
#                    (sysctl, which doctor's fixes use), without netd or the
#                    libraries netd links, for tests/integration/test_package.sh,
#                    which installs netd's package into an overlay of it. The
#                    libraries netd's package depends on are downloaded into
#                    the root's apt cache (not installed) and the root keeps
#                    apt's package lists, so `apt install ./netd_*.deb`
#                    resolves and installs them inside the test without a
#                    network; a dependency missing from the cache makes that
#                    install fail, naming it.
#
# Theory of operation. debootstrap installs SUITE from Debian's packages
# (variant minbase, plus PACKAGES) into DIR.new, which is renamed to DIR once
# complete, so a half-built root is never used. DIR/.stamp records the suite
# and the package lists: when they match, the script does nothing (a warm run
# takes well under a second); when they differ (a list below changed), the
# root is rebuilt from scratch. The root is made readable by everyone (the
# integration tests also run as an unprivileged user). Needs root and
# Debian's archive ($NETD_DEBIAN_MIRROR, default deb.debian.org); writes only
# DIR, DIR.new, DIR.old and DIR.log.
set -euo pipefail

NAME=${1:?usage: make-debian-root.sh trixie-root|bookworm-podman [DIR]}
DIR=${2:-/var/cache/netd/$NAME}
MIRROR=${NETD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOWNLOAD=()
KEEP_APT_LISTS=0
case $NAME in
  trixie-root)
    SUITE=trixie
    PACKAGES=(podman conmon runc crun passt netavark aardvark-dns nftables uidmap busybox-static iproute2
      libcares2 liburing2 libnl-3-200 libnl-route-3-200 libnftables1 libseccomp2 libcap-ng0 libstdc++6)
    ;;
  bookworm-podman)
    SUITE=bookworm
    PACKAGES=(podman crun conmon netavark uidmap busybox-static procps)
    # The run-time libraries of netd's package (its Depends: dpkg-shlibdeps
    # on the binary), downloaded only.
    DOWNLOAD=(libc-ares2 liburing2 libnl-3-200 libnl-route-3-200 libnftables1 libseccomp2 libcap-ng0 libstdc++6
      libgcc-s1)
    KEEP_APT_LISTS=1
    ;;
  *)
    echo "make-debian-root: unknown root '$NAME' (trixie-root or bookworm-podman)" >&2
    exit 2
    ;;
esac

if [[ $(id -u) -ne 0 ]]; then
  echo "make-debian-root: needs root (debootstrap)" >&2
  exit 1
fi
STAMP="suite=$SUITE packages=${PACKAGES[*]}"
((${#DOWNLOAD[@]} == 0)) || STAMP+=" download=${DOWNLOAD[*]}"
if [[ -f "$DIR/.stamp" && "$(cat "$DIR/.stamp")" == "$STAMP" ]]; then
  exit 0
fi

command -v debootstrap >/dev/null || {
  # shellcheck source=apt-install-missing.sh
  source "$(dirname "$0")/apt-install-missing.sh"
  apt_install_missing make-debian-root debootstrap
}

start=$(date +%s)
echo "make-debian-root: building $DIR (debian $SUITE: ${PACKAGES[*]}${DOWNLOAD:+; downloaded: ${DOWNLOAD[*]}})" >&2
mkdir -p "$(dirname "$DIR")"
chmod 0755 "$(dirname "$DIR")"
rm -rf "$DIR.new"
include=$(
  IFS=,
  echo "${PACKAGES[*]}"
)
new_failed() {
  tail -n 20 "$DIR.log" >&2
  [[ -f "$DIR.new/debootstrap/debootstrap.log" ]] && tail -n 20 "$DIR.new/debootstrap/debootstrap.log" >&2
  rm -rf "$DIR.new"
  echo "make-debian-root: $1 failed (log: $DIR.log)" >&2
  exit 1
}
debootstrap --variant=minbase --include="$include" "$SUITE" "$DIR.new" "$MIRROR" >"$DIR.log" 2>&1 ||
  new_failed debootstrap
# The packages debootstrap fetched are installed: only DOWNLOAD stays cached.
rm -rf "$DIR.new"/var/cache/apt/archives/*.deb
if ((${#DOWNLOAD[@]})); then
  # (apt's own sandbox user cannot write here from a chroot without /proc)
  chroot "$DIR.new" apt-get -o APT::Sandbox::User=root -qq update >>"$DIR.log" 2>&1 || new_failed "apt-get update"
  chroot "$DIR.new" apt-get -o APT::Sandbox::User=root -qq --download-only install -y "${DOWNLOAD[@]}" \
    >>"$DIR.log" 2>&1 || new_failed "downloading ${DOWNLOAD[*]}"
fi
((KEEP_APT_LISTS)) || rm -rf "$DIR.new"/var/lib/apt/lists/*
# A plain file for the tests to bind their own DNS server's resolv.conf over
# (debootstrap copied this machine's, which names servers the tests must not
# use), and subordinate-id files likewise.
printf 'nameserver 127.0.0.1\n' >"$DIR.new/etc/resolv.conf"
touch "$DIR.new/etc/subuid" "$DIR.new/etc/subgid"
chmod -R a+rX "$DIR.new"
echo "$STAMP" >"$DIR.new/.stamp"
rm -rf "$DIR.old"
[[ -e "$DIR" ]] && mv "$DIR" "$DIR.old"
mv "$DIR.new" "$DIR"
rm -rf "$DIR.old"
echo "make-debian-root: $DIR ready in $(($(date +%s) - start)) s ($(du -sh "$DIR" | cut -f1))" >&2
