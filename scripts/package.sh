#!/usr/bin/env bash
# Builds netd's Debian package: build/netd_VERSION_ARCH.deb (or in
# $NETD_BUILD_DIR), from the same install rules as `cmake --install`
# (packaging/CMakeLists.txt; docs/install.md lists what goes where).
# Man pages are required here (NETD_MAN=ON: go-md2man must be installed,
# scripts/install-deps.sh installs it); the binary is stripped.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${NETD_BUILD_DIR:-build}
# (a tree configured before keeps its build type: the package is built from it)
type=()
[[ -f "$BUILD/CMakeCache.txt" ]] || type=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
cmake -S . -B "$BUILD" -DNETD_MAN=ON "${type[@]}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target netd man
rm -f "$BUILD"/netd_*.deb
(cd "$BUILD" && cpack -G DEB >/dev/null)
deb=$(ls "$BUILD"/netd_*.deb)
echo "$deb"
