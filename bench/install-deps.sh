#!/usr/bin/env bash
# Installs what bench/run.sh drives, from Debian 12: the peers (slirp4netns,
# pasta from the passt package), iperf3, and matplotlib for the chart; and
# what bench/dns.sh drives: dnsperf and aardvark-dns.
# These are the benchmark's own dependencies, kept apart from the build and
# test set in scripts/install-deps.sh (which run.sh calls first).
# Idempotent: apt-get runs only when a package is missing. Needs root (or sudo).
set -euo pipefail

bench_pkgs=(iperf3 slirp4netns passt python3 python3-matplotlib util-linux iproute2
  dnsperf aardvark-dns)  # bench/dns.sh

# iperf3's postinst asks whether to start a daemon: answer no, non-interactively.
if ! dpkg-query -W -f='${Status}' iperf3 2>/dev/null | grep -q "install ok installed"; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  echo "iperf3 iperf3/start_daemon boolean false" | "${SUDO[@]}" debconf-set-selections 2>/dev/null || true
fi
# shellcheck source=../scripts/apt-install-missing.sh
source "$(dirname "$0")/../scripts/apt-install-missing.sh"
apt_install_missing bench/install-deps "${bench_pkgs[@]}"
