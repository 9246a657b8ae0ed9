#!/usr/bin/env bash
# netd-test: root only (no unprivileged variant: see tests/CMakeLists.txt)
# `cmake --install build` (the README's "Use it with Podman"), into
# /usr/local as a user would, but in this test's own mount namespace, where
# /usr/local is an empty tmpfs: the machine's /usr/local is never touched.
#   - bin/netd, the four helper links in libexec/netd leading to it, a man
#     page per docs/man page (roff), the bash completion;
#   - the installed netd finds its helpers: `netd doctor` says so, and `netd
#     setup podman --dry-run` names /usr/local/libexec/netd in the drop-in.
# Needs the build tree and root (skipped, 77, in the unprivileged run, which
# has a copy of the binary only, and for a non-root caller).
source "$(dirname "$0")/lib.sh"

BUILD=$(cd "$(dirname "$NETD_BIN")/.." && pwd)
if [[ $NETD_HARNESS_OUTER_UID != 0 || ! -f "$BUILD/cmake_install.cmake" ]]; then
  log "SKIP: installs from the build tree as root (this run: uid $NETD_HARNESS_OUTER_UID, $BUILD)"
  exit 77
fi
mount -t tmpfs -o mode=0755 tmpfs /usr/local
# The README's command, run where it is written for: beside a "build" tree.
mkdir -p "$T/src"
ln -s "$BUILD" "$T/src/build"
cd "$T/src"
cmake --install build >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fail "cmake --install build"; }
ok "cmake --install build: $(grep -c 'Installing:' "$T/install.log") files into /usr/local"

cmp -s "$NETD_BIN" /usr/local/bin/netd || fail "/usr/local/bin/netd is not the built netd"
for h in slirp4netns pasta pesto aardvark-dns; do
  [[ "$(readlink "/usr/local/libexec/netd/$h")" == ../../bin/netd ]] ||
    fail "/usr/local/libexec/netd/$h is not a link to ../../bin/netd: $(ls -l "/usr/local/libexec/netd/$h" 2>&1)"
done
for md in "$NETD_SRC"/docs/man/*.md; do
  page=/usr/local/share/man/man1/$(basename "$md" .md)
  up=$(basename "$md" .1.md | tr a-z A-Z)
  grep -q "^\.TH $up 1 " "$page" 2>/dev/null || fail "no roff man page $page (is go-md2man installed?)"
done
[[ -f /usr/local/share/bash-completion/completions/netd ]] || fail "no bash completion installed"
ok "installed: bin/netd, libexec/netd/{slirp4netns,pasta,pesto,aardvark-dns} -> ../../bin/netd, man pages, completion"

[[ "$(command -v netd)" == /usr/local/bin/netd ]] || fail "netd on PATH is $(command -v netd)"
# (exit 0 or 1 depends on the host; anything else would be a crash)
rc=0
out=$(netd doctor) || rc=$?
((rc == 0 || rc == 1)) || fail "netd doctor exited $rc: $out"
grep -qE "^OK +helpers +/usr/local/libexec/netd holds slirp4netns, pasta, pesto, aardvark-dns" <<<"$out" ||
  fail "doctor does not find the installed helpers: $out"
out=$(HOME=$T/home netd setup podman --dry-run) || fail "netd setup podman --dry-run: $out"
grep -qx '  "/usr/local/libexec/netd",' <<<"$out" || fail "the drop-in does not name /usr/local/libexec/netd: $out"
grep -qx 'network_cmd_path = "/usr/local/libexec/netd/slirp4netns"' <<<"$out" || fail "network_cmd_path: $out"
[[ ! -e $T/home ]] || fail "--dry-run created $T/home"
ok "the installed netd finds its helpers (doctor; setup podman --dry-run)"
pass
