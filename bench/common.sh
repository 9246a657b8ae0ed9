# bench/common.sh: helpers shared by bench/run.sh (the driver, outside the
# namespaces) and the measuring halves (bench/*_measure.sh, inside them,
# sourced after tests/integration/lib.sh there).

# machine_facts: key=value lines about the machine, the tree and the tools,
# the head of a run's facts.txt.
machine_facts() {
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$COMMAND"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpus=$(nproc)"
  echo "mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "netd=$(git describe --always --dirty 2>/dev/null || echo unknown) (Release)"
  echo "dirty_files=$(git status --porcelain 2>/dev/null | wc -l)"
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

# run_measure SCRIPT LIMIT [VAR=VALUE...]: runs a measuring half (inside
# lib.sh's namespaces) on build-bench's netd, bounded by LIMIT seconds, with
# the variables given and BENCH_OUT=$SECTION_OUT, then appends the elapsed
# time and the load to $SECTION_OUT/facts.txt. A step that did not end
# cleanly is reported, not fatal: what it measured is still reported.
run_measure() {
  local script=$1 limit=$2 start rc=0
  shift 2
  start=$(date +%s)
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$SECTION_OUT/facts.txt"
  env NETD_BIN="$ROOT/build-bench/bin/netd" NETD_SRC="$ROOT" NETD_TEST_TIMEOUT="$limit" \
    NETD_TEST_LIFETIME="$limit" BENCH_OUT="$SECTION_OUT" "$@" bash "$script" || rc=$?
  echo "elapsed=$(($(date +%s) - start)) s" >>"$SECTION_OUT/facts.txt"
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$SECTION_OUT/facts.txt"
  if ((rc != 0)); then
    echo "status=ended with $rc$( ((rc == 124)) && echo ' (its time limit)')" >>"$SECTION_OUT/facts.txt"
    echo "$script ended with $rc (timeout: 124); reporting what was measured" >&2
  fi
}

# rotate N WORD...: the words rotated left by N (mod their count): round r
# of a measurement runs its tools in the order `rotate $((r - 1)) TOOLS`,
# so that no tool always goes first (or last) on a machine whose load drifts.
rotate() {
  local n=$1
  shift
  local words=("$@")
  local k=${#words[@]} i
  ((k)) || return 0
  for ((i = 0; i < k; i++)); do printf '%s ' "${words[$(((i + n) % k))]}"; done
  echo
}

# line_begin / line_end LINE TOOL ROUND: one measured line's record in
# $BENCH_OUT/lines.tsv: wall-clock start and end (seconds since the epoch;
# bench/cpu_watch.py's samples, taken outside the namespaces, say what
# other processes did in between) and the 1-minute load average at both ends.
line_begin() {
  LINE_T0=$(date +%s.%N)
  LINE_LOAD0=$(cut -d' ' -f1 /proc/loadavg)
}
line_end() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$LINE_T0" "$(date +%s.%N)" "$LINE_LOAD0" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$BENCH_OUT/lines.tsv"
}

# trixie_up: the Debian 13 root (scripts/make-trixie-root.sh) as a mount
# namespace of its own, entered with `trixie CMD...`: Debian 13's binaries
# (pasta 2025-05, aardvark-dns 1.14) need its libraries. The holder is
# podman5_lib.sh's (its header says how and why); this harness' network,
# pid and user namespaces stay, so a PID or a socket means the same inside.
# Needs $T/resolv.conf (bound over the root's /etc/resolv.conf). Returns
# non-zero, with the reason in TRIXIE_ERR, when there is no such root.
trixie_up() {
  TRIXIE_ERR=""
  local root=${NETD_TRIXIE_ROOT:-/var/cache/netd/trixie-root}
  if [[ ! -f "$root/.stamp" || ! -x "$root/usr/bin/pasta" ]]; then
    TRIXIE_ERR="no Debian 13 root at $root (scripts/install-deps.sh --with-podman5 makes it)"
    return 1
  fi
  # shellcheck source=../tests/integration/podman5_lib.sh
  source "$NETD_SRC/tests/integration/podman5_lib.sh" || { TRIXIE_ERR="podman5_lib.sh"; return 1; }
  podman5_root_up
}
# trixie CMD...: CMD inside the Debian 13 root; nsenter execs it, so `trixie
# CMD &` leaves $! the pid of CMD itself.
trixie() { nsenter --mount="/proc/$PODMAN5_HOLDER/ns/mnt" -- "$@"; }

# podman_iperf LINE TOOL ROUND CMD...: an iperf3 client (CMD, a program:
# timeout runs it, with -t $DUR -J added) into $RAW/TOOL/LINE.rROUND.json,
# its stderr (podman's too) into .err on failure; a line record too.
podman_iperf() {
  local out="$RAW/$2/$1.r$3" line=$1 tool=$2 round=$3
  shift 3
  log "$tool: $line, round $round"
  line_begin
  timeout $((DUR + 30)) "$@" -t "$DUR" -J >"$out.json" 2>"$out.err" && rm -f "$out.err"
  line_end "$line" "$tool" "$round"
}

# podman_run_turns USE_TOOL PODMAN-ARGS...: times `pm PODMAN-ARGS...` (a
# `run --rm`, through podman_lib.sh's pm) RUNS times per tool of $TOOLS into
# $RAW/TOOL/run_ms.txt (milliseconds, start to exit), calling USE_TOOL TOOL
# before each run. The tools take turns, run by run, after one discarded
# warm-up run each, so that neither is timed on a colder machine than the
# other; the order rotates every run. A tool with start.err or run.err is
# skipped; a failed run writes run.err (podman's last words).
podman_run_turns() {
  local use=$1 i tool t0
  shift
  log "podman run --rm x$RUNS per tool, interleaved"
  for ((i = -1; i < RUNS; i++)); do
    for tool in $(rotate $((i + 1)) $TOOLS); do
      [[ -e "$RAW/$tool/start.err" || -e "$RAW/$tool/run.err" ]] && continue
      "$use" "$tool"
      ((i >= 0)) && line_begin
      t0=$(date +%s%N)
      if ! pm "$@" >/dev/null; then
        tail -n 3 "$PODMAN_LOG" >"$RAW/$tool/run.err"
        continue
      fi
      if ((i >= 0)); then
        echo $((($(date +%s%N) - t0) / 1000000)) >>"$RAW/$tool/run_ms.txt"
        line_end run "$tool" $((i + 1))
      fi
    done
  done
}
