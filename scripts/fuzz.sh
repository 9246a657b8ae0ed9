#!/usr/bin/env bash
# Runs every fuzz target in BUILD/bin for SECONDS each, starting from its seed
# corpus in tests/fuzz/corpus/<name without fuzz_>/ (new inputs go to a
# scratch directory, the checked-in corpus is not modified). Fails on the
# first crash, leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-30}
shopt -s nullglob
targets=("$build"/bin/fuzz_*)
if ((${#targets[@]} == 0)); then
  echo "fuzz.sh: no fuzz targets in $build/bin" >&2
  exit 1
fi
for f in "${targets[@]}"; do
  name=$(basename "$f")
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  mkdir -p "$work/corpus" "$work/artifacts"
  dirs=("$work/corpus")
  [[ -d "$seeds" ]] && dirs+=("$seeds")
  echo "fuzz: $name for ${seconds}s (seeds: $seeds)"
  rc=0
  "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "${dirs[@]}" >"$work/log" 2>&1 || rc=$?
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/log" || true
  if [[ $rc -ne 0 ]] || compgen -G "$work/artifacts/*" >/dev/null; then
    echo "fuzz: $name FAILED (exit $rc):" >&2
    tail -n 40 "$work/log" >&2
    ls -l "$work/artifacts" >&2
    exit 1
  fi
  rm -rf "$work"
done
echo "fuzz: all targets ran clean"
