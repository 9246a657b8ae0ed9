#!/usr/bin/env bash
# bench/podman_measure.sh: the measuring half of bench/podman.sh (which
# builds, installs and then calls this; podman_report.py makes the table).
#
# Theory of operation. lib.sh re-executes this script in a fresh user + net +
# pid + mount namespace (the "host") with subordinate ids mapped, and
# tests/integration/podman_lib.sh runs Debian's podman there, rootless, as
# test_podman.sh does. The image holds busybox and the host's iperf3. The
# world namespace runs an iperf3 server at 198.51.100.10:5201. For each tool
# in turn, podman's network_cmd_path names it (netd through a symlink named
# slirp4netns, or Debian's slirp4netns), and:
#   run      `podman run --rm --network slirp4netns IMG sh -c :`, RUNS times
#            per tool, the tools taking turns (after a discarded warm-up run
#            each): milliseconds from start to exit (podman starts the tool,
#            waits for its ready fd, the container runs, the tool is stopped)
#   c2w/w2c  a container on `--network slirp4netns:port_handler=slirp4netns`
#            runs iperf3 -c 198.51.100.10 (and -R: world -> container)
#   h2c      iperf3 from the host's 127.0.0.1 to `-p 15201:5201` of that
#            container (the tool's own port forwarding, through its API)
#   br_c2w   a container on a bridge network (podman network create) runs
#            iperf3 -c 198.51.100.10: through the bridge, the rootless netns
#            and the tool connecting that netns outward
# For the iperf3 lines the tools run one after the other (podman's rootless
# netns is torn down in between); ROUNDS repeats each line.
#
# Raw results: $BENCH_OUT/raw/TOOL/run_ms.txt (one line per run, or
# run.err), TOOL/{c2w,w2c,h2c,br_c2w}.rN.json (iperf3 -J) with .err beside a
# failed one, TOOL/start.err when the tool's container did not come up.
# Environment: NETD_BIN, BENCH_OUT, BENCH_TOOLS, BENCH_DUR, BENCH_ROUNDS,
# BENCH_RUNS.
NETD_HARNESS_SUBIDS=1
HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh" || exit 1
# shellcheck source=../tests/integration/bridge_lib.sh
source "$HERE_BENCH/../tests/integration/bridge_lib.sh" || exit 1
# shellcheck source=../tests/integration/podman_lib.sh
source "$HERE_BENCH/../tests/integration/podman_lib.sh" || exit 1
# shellcheck source=common.sh
source "$HERE_BENCH/common.sh"
trap - ERR

RAW="$BENCH_OUT/raw"
DUR=${BENCH_DUR:-5}
ROUNDS=${BENCH_ROUNDS:-1}
RUNS=${BENCH_RUNS:-10}
mkdir -p "$RAW" "$BENCH_OUT/logs"

world_up
in_world iperf3 -s -p 5201 >>"$BENCH_OUT/logs/iperf3-world.log" 2>&1 &
PIDS+=("$!")
wait_listening 5201 in_world
podman_setup
podman_image localhost/netd-bench /usr/bin/iperf3
set +e
IMG=localhost/netd-bench

# iperf LINE TOOL ROUND CMD...: run an iperf3 client (CMD, a program: timeout
# runs it) into LINE.rROUND.json, its stderr (podman's too) into .err on failure.
iperf() {
  local out="$RAW/$2/$1.r$3"
  shift 3
  timeout $((DUR + 30)) "$@" -t "$DUR" -J >"$out.json" 2>"$out.err" && rm -f "$out.err"
}

TOOLS=${BENCH_TOOLS:-netd slirp4netns}
# use_tool TOOL: podman runs TOOL as its slirp4netns from now on.
use_tool() {
  case $1 in
    netd) podman_network_cmd "$T/bin/slirp4netns" ;;
    slirp4netns) podman_network_cmd "$(command -v slirp4netns)" ;;
    *) return 1 ;;
  esac
}
for tool in $TOOLS; do
  mkdir -p "$RAW/$tool"
  use_tool "$tool" || echo "unknown tool $tool" >"$RAW/$tool/start.err"
done

podman_run_turns use_tool run --pull=never --rm --network slirp4netns "$IMG" sh -c :

for tool in $TOOLS; do
  [[ -e "$RAW/$tool/start.err" ]] && continue
  use_tool "$tool"
  log "$tool: iperf3 through --network slirp4netns"
  if pm run --pull=never -d --name "s-$tool" --network slirp4netns:port_handler=slirp4netns -p 15201:5201 \
    "$IMG" iperf3 -s -p 5201 >/dev/null; then
    retry 50 bash -c "ss -Hltn 'sport = :15201' | grep -q LISTEN"
    sleep 1  # the container's own iperf3 server
    for ((r = 1; r <= ROUNDS; r++)); do
      iperf c2w "$tool" "$r" podman exec "s-$tool" iperf3 -c 198.51.100.10 -p 5201
      iperf w2c "$tool" "$r" podman exec "s-$tool" iperf3 -c 198.51.100.10 -p 5201 -R
      iperf h2c "$tool" "$r" iperf3 -c 127.0.0.1 -p 15201
    done
  else
    tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/start.err"
  fi
  pm rm -f -t 0 "s-$tool" >/dev/null

  log "$tool: iperf3 from a bridge network"
  pm network create "n-$tool" >/dev/null
  if pm run --pull=never -d --name "b-$tool" --network "n-$tool" "$IMG" sleep 600 >/dev/null; then
    for ((r = 1; r <= ROUNDS; r++)); do
      iperf br_c2w "$tool" "$r" podman exec "b-$tool" iperf3 -c 198.51.100.10 -p 5201
    done
  else
    tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/br_start.err"
  fi
  pm rm -f -t 0 "b-$tool" >/dev/null
  pm network rm "n-$tool" >/dev/null
done
exit 0
