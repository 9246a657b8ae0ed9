#!/usr/bin/env bash
# Installs everything netd needs to build, test and demo on Debian 12.
# Idempotent: packages already present are not touched; apt-get runs only
# when something is missing. Needs root (or sudo).
#   --with-fuzz     also clang for the libFuzzer targets
#   --with-podman5  also the Debian 13 root that test_podman5 runs Podman 5 from
#                   (scripts/make-trixie-root.sh)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config g++ liburing-dev libnl-3-dev libnl-route-3-dev
  libc-ares-dev libnftables-dev libboost-dev nlohmann-json3-dev libcli11-dev libseccomp-dev libcap-ng-dev
  libgtest-dev libgmock-dev)
# Tools the demo and the integration tests drive: namespaces (util-linux, iproute2),
# a DHCP client and ping (busybox), traffic peers (socat, python3), capture (tcpdump),
# the real nft to read back the bridge networks' firewall (nftables), and the
# real clients netd replaces parts of: RootlessKit (slirp4netns mode; newuidmap
# from uidmap), netavark with its firewall tool (aardvark-dns mode), and podman
# with the OCI runtime and monitor it runs containers with (crun, conmon).
test_pkgs=(util-linux iproute2 iputils-ping busybox socat python3 tcpdump dnsutils procps nftables rootlesskit
  uidmap netavark iptables podman crun conmon)
# The libFuzzer targets need clang and its runtime.
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
podman5=0
for arg in "$@"; do
  case $arg in
    --with-fuzz) want+=("${fuzz_pkgs[@]}") ;;
    # The Debian 13 root with Podman 5 for test_podman5 (debootstrap: about
    # a minute and a half the first time, then cached; see the script).
    --with-podman5) podman5=1 ;;
    *) echo "install-deps: unknown option $arg (--with-fuzz, --with-podman5)" >&2; exit 2 ;;
  esac
done

# shellcheck source=apt-install-missing.sh
source "$(dirname "$0")/apt-install-missing.sh"
apt_install_missing install-deps "${want[@]}"
if ((podman5)); then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" "$(dirname "$0")/make-trixie-root.sh"
fi
