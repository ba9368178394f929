#!/bin/bash
# Every page in man/ must render with `groff -ww -z -man` without a single warning.
set -euo pipefail
SRC=${NVMEFS_SRC:?NVMEFS_SRC not set}
pages=("$SRC"/man/*.[1-8])
[ ${#pages[@]} -gt 0 ] && [ -e "${pages[0]}" ] || { echo "FAIL: no man pages in $SRC/man" >&2; exit 1; }
for page in "${pages[@]}"; do
  out=$(groff -ww -z -man "$page" 2>&1) || { echo "FAIL: groff failed on $page: $out" >&2; exit 1; }
  [ -z "$out" ] || { echo "FAIL: $page: $out" >&2; exit 1; }
  echo "ok - $(basename "$page")"
done
