#!/usr/bin/env bash
# `netd setup podman --user` with Podman 5.4 (Debian 13): the drop-in alone
# makes Podman 5 run netd as pasta, with everything else it needs still found
# through the rest of helper_binaries_dir (netavark, rootlessport: Podman's
# default directories, which the drop-in lists after netd's own).
#   - netd laid out as installed ($T/bin/netd, $T/libexec/netd/ links);
#     podman's containers.conf is the user's own (podman5_lib.sh's settings
#     without a helper_binaries_dir), CONTAINERS_CONF unset so the drop-ins
#     count; `netd setup podman --user` writes
#     $XDG_CONFIG_HOME/containers/containers.conf.d/netd.conf;
#   - podman info names netd's pasta, and so does `netd doctor` (asking
#     Podman 5 through PATH); a container runs on the default
#     network with pasta = netd (the process's executable is netd), copying
#     the harness host's default route; a bridge network's container gets
#     its name served by netd as aardvark-dns (started by Debian 13's
#     netavark, found in /usr/lib/podman);
#   - --undo: podman info names Debian's /usr/bin/pasta again.
# Podman 5 comes from the Debian 13 root (podman5_lib.sh; SKIP, 77, without it).
NETD_HARNESS_SUBIDS=1
source "$(dirname "$0")/lib.sh" || exit 1
source "$(dirname "$0")/bridge_lib.sh" || exit 1
source "$(dirname "$0")/podman5_lib.sh" || exit 1

world_up
world_server dns 53
podman5_setup
podman_image localhost/netd-bb

mkdir -p "$T/libexec/netd"
for h in slirp4netns pasta pesto aardvark-dns; do ln -s ../../bin/netd "$T/libexec/netd/$h"; done
mkdir -p "$XDG_CONFIG_HOME/containers"
grep -v '^helper_binaries_dir' "$T/containers.conf" >"$XDG_CONFIG_HOME/containers/containers.conf"
unset CONTAINERS_CONF
out=$("$NETD_IN_ROOT" setup podman --user) || fail "netd setup podman --user: $out"
dropin=$XDG_CONFIG_HOME/containers/containers.conf.d/netd.conf
[[ "$(head -n1 <<<"$out")" == "wrote $dropin:" ]] || fail "setup printed: $out"

exe=$(pm info --format '{{.Host.Pasta.Executable}}') || pm_fail "podman info"
[[ $exe == "$T/libexec/netd/pasta" ]] || pm_fail "podman 5's pasta is '$exe', not $T/libexec/netd/pasta"
ok "podman $(pm version --format '{{.Client.Version}}') with netd's drop-in: pasta is $exe"
# netd doctor asks "podman" on PATH: here, Podman 5 in the root (through
# podman5_lib's wrapper, with the PATH it had: the wrapper itself looks
# "podman" up inside the root, where $T is visible too).
mkdir -p "$T/pm5bin"
printf '#!/bin/sh\nPATH=%s exec %s "$@"\n' "$PATH" "$PODMAN" >"$T/pm5bin/podman"
chmod +x "$T/pm5bin/podman"
out=$(PATH=$T/pm5bin:$PATH "$NETD_IN_ROOT" doctor) || fail "netd doctor exited $?: $out"
line=$(grep -E "^(OK|WARN|FAIL) +podman " <<<"$out")
[[ $line =~ ^OK\ +podman\ +podman\ 5\.[0-9.]+\ spawns\ pasta\ for\ rootless\ containers:\ $T/libexec/netd/pasta\ is\ netd$ ]] ||
  fail "doctor's podman line with Podman 5: $line"
ok "netd doctor: $line"

pm run -d --name web localhost/netd-bb sleep 100 >/dev/null || pm_fail "podman run on the default network"
procs=$(podman5_procs pasta)
[[ -n "$procs" ]] || fail "no pasta process for the container"
while read -r _ pexe _; do
  [[ $pexe == "$NETD_IN_ROOT" ]] || fail "podman ran $pexe as pasta, not netd: $procs"
done <<<"$procs"
route=$(pm exec web ip route) || pm_fail "podman exec"
grep -q "^default via 198.51.100.10 " <<<"$route" || fail "the container's routes are not the copied host's: $route"
pm rm -f -t 0 web >/dev/null
ok "a container on the default network: pasta is netd ($(head -n1 <<<"$route"))"

pm network create --subnet 10.89.7.0/24 n1 >/dev/null || pm_fail "podman network create"
pm run -d --name cli --network n1 localhost/netd-bb sleep 100 >/dev/null || pm_fail "podman run on n1"
dns=$(podman5_procs aardvark-dns)
[[ -n "$dns" && "$(awk '{print $2}' <<<"$dns" | sort -u)" == "$NETD_IN_ROOT" ]] ||
  fail "aardvark-dns is not netd: ${dns:-no process}"
out=$(pm exec cli nslookup cli 10.89.7.1) || pm_fail "nslookup in the container: $out"
grep -q "Address: 10.89.7.2" <<<"$out" || fail "the container's own name did not resolve: $out"
pm rm -f -t 0 cli >/dev/null
pm network rm n1 >/dev/null
ok "a bridge network: netd answers as aardvark-dns (netavark found in Podman's default directories)"

"$NETD_IN_ROOT" setup podman --user --undo >/dev/null || fail "--undo"
exe=$(pm info --format '{{.Host.Pasta.Executable}}') || pm_fail "podman info"
[[ $exe == /usr/bin/pasta ]] || fail "after --undo podman's pasta is '$exe'"
ok "--undo: podman runs Debian's /usr/bin/pasta again"
pass
