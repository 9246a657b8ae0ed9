#!/usr/bin/env bash
# Installs everything netd needs to build, test and demo on Debian 12.
# Idempotent: packages already present are not touched; apt-get runs only
# when something is missing. Needs root (or sudo).
#   --with-fuzz          also clang for the libFuzzer targets
#   --with-podman5       also the Debian 13 root that test_podman5 runs Podman 5 from
#   --with-package-root  also the Debian 12 root that test_package installs netd's
#                        package into (both: scripts/make-debian-root.sh, cached)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config g++ liburing-dev libnl-3-dev libnl-route-3-dev
  libc-ares-dev libnftables-dev libboost-dev nlohmann-json3-dev libcli11-dev libseccomp-dev libcap-ng-dev
  libgtest-dev libgmock-dev go-md2man universal-ctags)
# Tools the demo and the integration tests drive: namespaces (util-linux, iproute2),
# a DHCP client and ping (busybox), traffic peers (socat, python3), capture (tcpdump),
# the real nft to read back the bridge networks' firewall (nftables), and the
# real clients netd replaces parts of: RootlessKit (slirp4netns mode; newuidmap
# from uidmap), netavark with its firewall tool (aardvark-dns mode), and podman
# with the OCI runtime and monitor it runs containers with (crun, conmon);
# packaging: dpkg-shlibdeps (dpkg-dev) for the package's dependencies,
# debootstrap for the clean Debian root the package is installed into, curl
# for the README's commands.
test_pkgs=(util-linux iproute2 iputils-ping busybox socat python3 tcpdump dnsutils procps nftables rootlesskit
  uidmap netavark iptables podman crun conmon dpkg-dev debootstrap curl)
# The libFuzzer targets need clang and its runtime.
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
roots=()
for arg in "$@"; do
  case $arg in
    --with-fuzz) want+=("${fuzz_pkgs[@]}") ;;
    # (debootstrap: a minute or two the first time, then cached; see the script)
    --with-podman5) roots+=(trixie-root) ;;
    --with-package-root) roots+=(bookworm-podman) ;;
    *)
      echo "install-deps: unknown option $arg (--with-fuzz, --with-podman5, --with-package-root)" >&2
      exit 2
      ;;
  esac
done

# shellcheck source=apt-install-missing.sh
source "$(dirname "$0")/apt-install-missing.sh"
apt_install_missing install-deps "${want[@]}"
for root in "${roots[@]}"; do
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" "$(dirname "$0")/make-debian-root.sh" "$root"
done
