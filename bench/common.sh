# bench/common.sh: helpers shared by bench/run.sh and bench/ports.sh (the
# outer drivers) and their measuring halves, sourced after lib.sh there.

# machine_facts: key=value lines about the machine and netd's build, the
# head of every results directory's facts.txt.
machine_facts() {
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$COMMAND"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpus=$(nproc)"
  echo "mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "netd=$(git describe --always --dirty 2>/dev/null || echo unknown) (Release)"
  echo "iperf3=$(iperf3 --version | head -n1)"
}

# stop_pid PID: SIGTERM, up to 3 s, then SIGKILL; reaps it.
stop_pid() {
  [[ -n "$1" ]] || return 0
  kill "$1" 2>/dev/null
  for ((k = 0; k < 30; k++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# read_ready FD: true when the tool wrote its ready byte "1" to the fifo
# open on FD within 10 s.
read_ready() {
  local byte=""
  read -r -t 10 -n 1 byte <&"$1" || true
  [[ "$byte" == 1 ]]
}

# run_measure SCRIPT [VAR=VALUE...]: runs a measuring half (inside lib.sh's
# namespaces) on build-bench's netd, bounded by $LIMIT seconds, with the
# variables given, then appends the elapsed time and the load to
# $OUT/facts.txt. A step that did not end cleanly is reported, not fatal:
# what it measured is still reported.
run_measure() {
  local script=$1 start rc=0
  shift
  start=$(date +%s)
  env NETD_BIN="$ROOT/build-bench/bin/netd" NETD_SRC="$ROOT" NETD_TEST_TIMEOUT="$LIMIT" \
    NETD_TEST_LIFETIME="$LIMIT" BENCH_OUT="$OUT" "$@" bash "$script" || rc=$?
  echo "elapsed=$(($(date +%s) - start)) s" >>"$OUT/facts.txt"
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/facts.txt"
  if ((rc != 0)); then
    echo "$script ended with $rc (timeout: 124); reporting what was measured" >&2
  fi
}

# podman_run_turns USE_TOOL PODMAN-ARGS...: times `pm PODMAN-ARGS...` (a
# `run --rm`, through podman_lib.sh's pm) RUNS times per tool of $TOOLS into
# $RAW/TOOL/run_ms.txt (milliseconds, start to exit), calling USE_TOOL TOOL
# before each run. The tools take turns, run by run, after one discarded
# warm-up run each, so that neither is timed on a colder machine than the
# other. A tool with start.err or run.err is skipped; a failed run writes
# run.err (podman's last words).
podman_run_turns() {
  local use=$1 i tool t0
  shift
  log "podman run --rm x$RUNS per tool, interleaved"
  for ((i = -1; i < RUNS; i++)); do
    for tool in $TOOLS; do
      [[ -e "$RAW/$tool/start.err" || -e "$RAW/$tool/run.err" ]] && continue
      "$use" "$tool"
      t0=$(date +%s%N)
      if ! pm "$@" >/dev/null; then
        tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/run.err"
        continue
      fi
      ((i >= 0)) && echo $((($(date +%s%N) - t0) / 1000000)) >>"$RAW/$tool/run_ms.txt"
    done
  done
}
