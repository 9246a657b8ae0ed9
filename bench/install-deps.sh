#!/usr/bin/env bash
# Installs what bench/run.sh drives, from Debian 12: the peers (slirp4netns,
# pasta from the passt package), iperf3, and matplotlib for the chart.
# These are the benchmark's own dependencies, kept apart from the build and
# test set in scripts/install-deps.sh (which run.sh calls first).
# Idempotent: apt-get runs only when a package is missing. Needs root (or sudo).
set -euo pipefail

bench_pkgs=(iperf3 slirp4netns passt python3 python3-matplotlib util-linux iproute2)

missing=()
for p in "${bench_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
echo "bench/install-deps: installing ${missing[*]}" >&2
# iperf3's postinst asks whether to start a daemon: answer no, non-interactively.
echo "iperf3 iperf3/start_daemon boolean false" | "${SUDO[@]}" debconf-set-selections 2>/dev/null || true
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
