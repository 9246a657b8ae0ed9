#!/usr/bin/env bash
# bench/podman5_measure.sh: the Podman 5 section of bench/run.sh (which
# builds, installs and then calls this; report_podman.py makes the table).
#
# Theory of operation. lib.sh re-executes this script in a fresh user + net +
# pid + mount namespace (the "host") with subordinate ids mapped, and
# tests/integration/podman5_lib.sh runs Debian 13's Podman 5 there, rootless,
# from its Debian 13 root, as tests/integration/test_podman5.sh does. The
# image holds busybox and this machine's iperf3; an iperf3 server listens on
# the host's 127.0.0.1:5201. Each tool is an implementation of pasta that
# podman runs for its containers (podman5_impl: "debian" is Debian 13's
# pasta, "netd" is netd through a symlink named pasta), and:
#   run   `podman run --rm IMG sh -c :` on the default (pasta) network, RUNS
#         times per tool, the tools taking turns after a discarded warm-up
#         run each: milliseconds from start to exit (podman starts pasta and
#         waits for it to exit 0 with the namespace configured, the container
#         runs, the netns file goes and pasta with it)
#   c2h   a container on `--network pasta:--map-gw -p 15201:5201` runs
#         iperf3 -c to the gateway 198.51.100.10:5201, which pasta maps to
#         the host's 127.0.0.1: container -> host loopback
#   h2c   iperf3 from the host's 127.0.0.1 to that published port 15201, the
#         container's own iperf3 server: host loopback -> container
# ROUNDS repeats c2h and h2c; the tools' order rotates every round (a
# fresh container per tool and round).
#
# Raw results: $BENCH_OUT/raw/TOOL/run_ms.txt (one line per run, or run.err),
# TOOL/{c2h,h2c}.rN.json (iperf3 -J) with .err beside a failed one,
# TOOL/start.err when its container did not come up; lines.tsv (common.sh's
# line records). Environment: NETD_BIN,
# BENCH_OUT, BENCH_TOOLS, BENCH_DUR, BENCH_ROUNDS, BENCH_RUNS.
NETD_HARNESS_SUBIDS=1
HERE_BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$HERE_BENCH/../tests/integration/lib.sh" || exit 1
# shellcheck source=../tests/integration/bridge_lib.sh
source "$HERE_BENCH/../tests/integration/bridge_lib.sh" || exit 1
# shellcheck source=../tests/integration/podman5_lib.sh
source "$HERE_BENCH/../tests/integration/podman5_lib.sh" || exit 1
# shellcheck source=common.sh
source "$HERE_BENCH/common.sh"
trap - ERR

RAW="$BENCH_OUT/raw"
DUR=${BENCH_DUR:-3}
ROUNDS=${BENCH_ROUNDS:-3}
RUNS=${BENCH_RUNS:-10}
TOOLS=${BENCH_TOOLS:-debian netd}
mkdir -p "$RAW" "$BENCH_OUT/logs"

world_up
world_server dns 53
iperf3 -s -B 127.0.0.1 -p 5201 >>"$BENCH_OUT/logs/iperf3-host.log" 2>&1 &
PIDS+=("$!")
wait_listening 5201
podman5_setup
podman_image localhost/netd-bench /usr/bin/iperf3
set +e
IMG=localhost/netd-bench

for tool in $TOOLS; do mkdir -p "$RAW/$tool"; done

podman_run_turns podman5_impl run --pull=never --rm "$IMG" sh -c :

# measure_round TOOL ROUND: c2h and h2c through a fresh container of TOOL.
measure_round() {
  local tool=$1 r=$2
  podman5_impl "$tool"
  log "$tool, round $r: iperf3 container -> host loopback (--map-gw) and host -> published port"
  if pm run --pull=never -d --name "s-$tool" --network pasta:--map-gw -p 15201:5201 \
    "$IMG" iperf3 -s -p 5201 >/dev/null; then
    retry 50 bash -c "ss -Hltn 'sport = :15201' | grep -q LISTEN"
    # (the container's iperf3 server: until podman exec sees it listening)
    retry 50 pm exec "s-$tool" sh -c 'netstat -ltn | grep -q ":5201 "'
    podman_iperf c2h "$tool" "$r" "$PODMAN" exec "s-$tool" iperf3 -c 198.51.100.10 -p 5201
    podman_iperf h2c "$tool" "$r" iperf3 -c 127.0.0.1 -p 15201
  else
    tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/start.err"
  fi
  pm rm -f -t 0 "s-$tool" >/dev/null
}

for ((r = 1; r <= ROUNDS; r++)); do
  for tool in $(rotate $((r - 1)) $TOOLS); do
    [[ -e "$RAW/$tool/start.err" ]] || measure_round "$tool" "$r"
  done
done
exit 0
