#!/usr/bin/env bash
# netd-test: root only (no unprivileged variant: see tests/CMakeLists.txt)
# netd's Debian package, built and installed into a clean Debian 12, where
# `netd doctor` and a rootless Podman container run with it — the README's
# "Use it with Podman" steps, as a user would take them:
#
#   a. scripts/package.sh builds the package from this build tree; it holds
#      bin/netd, the four helper links in libexec/netd, a man page per
#      docs/man page (netd-setup.1 and netd-doctor.1 among them) and the bash
#      completion, and its Depends name the package of every library the
#      binary links (readelf NEEDED -> dpkg -S on this machine).
#   b. In a copy of the cached Debian 12 root (scripts/make-debian-root.sh
#      bookworm-podman: Podman 4.3, no netd, netd's libraries only in apt's
#      cache), `apt install ./build/netd_*.deb` pulls in the dependencies and
#      installs; every library resolves (ldd) and netd runs.
#   c. As root there: `netd doctor` (exit 0, the helpers found in
#      /usr/libexec/netd, Podman not yet pointed at netd); `netd setup podman
#      --system` and doctor says Podman's slirp4netns is netd; --undo.
#   d. As a new user without subordinate ids, with the kernel's default
#      ping_group_range: doctor WARNs for subuid, subgid and ping, and the
#      fixes it names, run as printed, make those checks OK. `netd setup
#      podman --user`, then doctor's podman line is OK; `podman run --rm
#      busybox ip route` shows netd's gateway on tap0; a container fetches a
#      page from a server on the host's loopback (allow_host_loopback), which
#      only netd's TCP translation can carry; --undo removes exactly the file.
#   e. The bash completion completes netd's commands and options.
#
# Needs root (it installs a package into a root file system and runs Podman
# as a second user there); skipped (77) otherwise and when the cached root is
# missing. Everything after (a) runs in fresh mount, network and pid
# namespaces: the root is an overlay over the cache (which stays clean), the
# network namespace has only lo, and the pid namespace ends every process at
# the end. tests/integration/package_root.sh is the part that runs inside.
set -euo pipefail
: "${NETD_BIN:?}" "${NETD_SRC:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
log() { echo "[$(date +%T)] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
ok() { log "ok: $*"; }

if [[ $(id -u) -ne 0 ]]; then
  log "SKIP: needs root (installs netd's package into a Debian root and runs podman as a user there)"
  exit 77
fi
ROOTFS=${NETD_BOOKWORM_ROOT:-/var/cache/netd/bookworm-podman}
if [[ ! -f "$ROOTFS/.stamp" ]]; then
  log "SKIP: no Debian 12 root at $ROOTFS (as root: scripts/make-debian-root.sh bookworm-podman, or scripts/install-deps.sh --with-package-root)"
  exit 77
fi
BUILD=$(cd "$(dirname "$NETD_BIN")/.." && pwd)
[[ -f "$BUILD/CMakeCache.txt" ]] || fail "NETD_BIN is not in a build tree ($BUILD has no CMakeCache.txt)"

T=$(mktemp -d /tmp/netd-package.XXXXXX)
trap 'rm -rf "$T"' EXIT
start=$(date +%s)

# --- a. the package ------------------------------------------------------------
deb=$(cd "$NETD_SRC" && NETD_BUILD_DIR=$BUILD scripts/package.sh 2>"$T/package.log") ||
  { cat "$T/package.log" >&2; fail "scripts/package.sh"; }
deb=$(tail -n 1 <<<"$deb")
[[ $deb == /* ]] || deb=$NETD_SRC/$deb
[[ -f "$deb" ]] || fail "scripts/package.sh named no package ('$deb'): $(cat "$T/package.log")"
ok "scripts/package.sh: $(basename "$deb"), $(stat -c %s "$deb") bytes ($(($(date +%s) - start)) s)"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/netd ./usr/share/bash-completion/completions/netd; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f: $contents"
done
for h in slirp4netns pasta pesto aardvark-dns; do
  grep -q " ./usr/libexec/netd/$h -> ../../bin/netd\$" <<<"$contents" || fail "the package lacks the link libexec/netd/$h"
done
for md in "$NETD_SRC"/docs/man/*.md; do
  page=$(basename "$md" .md)
  grep -q " ./usr/share/man/man1/$page\$" <<<"$contents" || fail "the package lacks the man page $page"
done
for page in netd-setup.1 netd-doctor.1; do
  grep -q " ./usr/share/man/man1/$page\$" <<<"$contents" || fail "the package lacks the man page $page"
done
depends=$(dpkg-deb -f "$deb" Depends)
depends_names=$(sed 's/ ([^)]*)//g; s/ *[,|] */\n/g' <<<"$depends")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for lib in $(readelf -d "$NETD_BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  pkg=$(dpkg -S "*/$multiarch/$lib" 2>/dev/null | head -n1 | cut -d: -f1)
  [[ -n "$pkg" ]] || fail "no package of this machine ships $lib"
  grep -qxF "$pkg" <<<"$depends_names" || fail "Depends lacks $pkg (for $lib): $depends"
done
ok "contents: netd, 4 helper links, $(grep -c ' ./usr/share/man/man1/' <<<"$contents") man pages, completion; Depends: $depends"

# --- b-e. inside the Debian 12 root --------------------------------------------
mkdir -p "$T/stage"
cp "$deb" "$HERE/package_root.sh" "$T/stage/"
if ! timeout --kill-after=5 200 unshare --mount --net --pid --fork --mount-proc --propagation private \
  bash "$HERE/package_root.sh" outside "$ROOTFS" "$T" >"$T/root.log" 2>&1; then
  cat "$T/root.log" >&2
  fail "in the Debian 12 root (the log is above)"
fi
cat "$T/root.log" >&2
log "PASS: $(basename "$0") ($(($(date +%s) - start)) s)"
