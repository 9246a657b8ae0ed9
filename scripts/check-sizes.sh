#!/usr/bin/env bash
# The size rules of the product code (everything but tests/ and bench/):
# no source file over 700 lines (tap/tcp_engine.cpp, one state machine, is
# the one exception) and no function over 120 lines. Function extents come
# from universal-ctags. Prints every offender; exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
max_file=700 max_function=120
status=0
files=$(git ls-files '*.cpp' '*.h' | grep -v '^tests/\|^bench/')

while read -r n f; do
  [[ $f == total || $f == tap/tcp_engine.cpp ]] && continue
  if (( n > max_file )); then echo "check-sizes: $f has $n lines (at most $max_file)"; status=1; fi
done < <(echo "$files" | xargs wc -l)

if ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
  echo "check-sizes: universal-ctags is missing; function lengths not checked" >&2
  exit 2
fi
while read -r start end f name; do
  n=$((end - start + 1))
  if (( n > max_function )); then echo "check-sizes: $f:$start $name() has $n lines (at most $max_function)"; status=1; fi
done < <(echo "$files" | ctags -L - --c++-kinds=f --fields=+ne -x --_xformat='%{line} %{end} %{input} %{name}')
exit $status
