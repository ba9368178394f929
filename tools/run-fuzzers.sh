#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time each, from
# the seed corpus in tests/fuzz/corpus/<name>/ (copied, so the tree stays
# clean). Usage: tools/run-fuzzers.sh BUILD_DIR [SECONDS_EACH]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS]}
secs=${2:-20}
shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
if ((${#targets[@]} == 0)); then
  echo "run-fuzzers: no fuzz targets in $build/tests/fuzz" >&2
  exit 1
fi
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  name=$(basename "$t")
  mkdir -p "$work/$name"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/$name/"
  if "$t" -max_total_time="$secs" -print_final_stats=1 "$work/$name" >"$work/$name.log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$work/$name.log" | awk '{print $2}')
    echo "fuzz $name: ok, ${execs:-?} executions in ${secs}s"
  else
    echo "fuzz $name: FAILED"; tail -40 "$work/$name.log"; fail=1
  fi
done
exit $fail
