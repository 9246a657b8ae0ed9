#!/usr/bin/env bash
# bench/podman_measure.sh: the Podman 4.3 section of bench/run.sh (which
# builds, installs and then calls this; report_podman.py makes the table).
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
#   h2c      iperf3 from the host's 127.0.0.1 to `-p 1520N:5201` of that
#            container (N: the tool's index) (the tool's own port forwarding, through its API)
#   br_c2w   a container on a bridge network (podman network create) runs
#            iperf3 -c 198.51.100.10: through the bridge, the rootless netns
#            and the tool connecting that netns outward
# Each round takes the tools in an order rotated every round: for c2w, w2c
# and h2c both tools' containers stand side by side (one helper each); for
# br_c2w, whose rootless netns has one helper for all, each tool gets a
# fresh network and container per round (the netns is torn down in between).
#
# Raw results: $BENCH_OUT/raw/TOOL/run_ms.txt (one line per run, or
# run.err), TOOL/{c2w,w2c,h2c,br_c2w}.rN.json (iperf3 -J) with .err beside a
# failed one, TOOL/start.err when the tool's container did not come up;
# lines.tsv (common.sh's line records).
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
DUR=${BENCH_DUR:-3}
ROUNDS=${BENCH_ROUNDS:-3}
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

# One container per tool, up together (each has its own helper process),
# publishing port 15201 + its index; the rounds take them in turns.
declare -A HPORT
i=0
up=()
for tool in $TOOLS; do
  i=$((i + 1))
  [[ -e "$RAW/$tool/start.err" ]] && continue
  use_tool "$tool"
  HPORT[$tool]=$((15200 + i))
  if pm run --pull=never -d --name "s-$tool" --network slirp4netns:port_handler=slirp4netns \
    -p "${HPORT[$tool]}:5201" "$IMG" iperf3 -s -p 5201 >/dev/null; then
    retry 50 bash -c "ss -Hltn 'sport = :${HPORT[$tool]}' | grep -q LISTEN"
    retry 50 pm exec "s-$tool" sh -c 'netstat -ltn | grep -q ":5201 "'
    up+=("$tool")
  else
    tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/start.err"
  fi
done
for ((r = 1; r <= ROUNDS; r++)); do
  for tool in $(rotate $((r - 1)) "${up[@]}"); do
    podman_iperf c2w "$tool" "$r" podman exec "s-$tool" iperf3 -c 198.51.100.10 -p 5201
    podman_iperf w2c "$tool" "$r" podman exec "s-$tool" iperf3 -c 198.51.100.10 -p 5201 -R
    podman_iperf h2c "$tool" "$r" iperf3 -c 127.0.0.1 -p "${HPORT[$tool]}"
  done
done
for tool in "${up[@]}"; do pm rm -f -t 0 "s-$tool" >/dev/null; done

# Bridge networks share one rootless netns with one helper, so the tools
# take turns: a network and a container per tool and round.
for ((r = 1; r <= ROUNDS; r++)); do
  for tool in $(rotate $((r - 1)) $TOOLS); do
    [[ -e "$RAW/$tool/start.err" || -e "$RAW/$tool/br_start.err" ]] && continue
    use_tool "$tool"
    pm network create "n-$tool" >/dev/null
    if pm run --pull=never -d --name "b-$tool" --network "n-$tool" "$IMG" sleep 600 >/dev/null; then
      podman_iperf br_c2w "$tool" "$r" podman exec "b-$tool" iperf3 -c 198.51.100.10 -p 5201
    else
      tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/br_start.err"
    fi
    pm rm -f -t 0 "b-$tool" >/dev/null
    pm network rm "n-$tool" >/dev/null
  done
done
exit 0
