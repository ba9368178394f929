#!/bin/bash
# Readahead: a sequential read of 64 MiB in 128 KiB requests with
# cache_block=64K must be served mostly from readahead (cache hits) and must
# need far fewer than the 1024 network read commands that one read per cache
# block would take (counted by nvmefs-ctl stats, 'network' layer). The same
# read with readahead=0 is the baseline; the bytes read must be the bytes
# written.
. "$(dirname "$0")/e2e_lib.sh"
[ -x "$CTL" ] || fail "build nvmefs-ctl first"

start_target nqn.2024-01.io.nvmefs:e2e-readahead --ns "$WORK/ns1.img:128M"
head -c $((64 << 20)) /dev/urandom >"$WORK/data"
dd if="$WORK/data" of="$WORK/ns1.img" bs=1M conv=notrunc status=none

network_reads() {  # READAHEAD: mount, sequential read + compare; "reads read_bytes hits readahead_blocks" into $WORK/ra-READAHEAD
  mount_fg -o cache=writethrough,cache_block=64K,readahead=$1
  cmp <(dd if="$MNT/ns1" bs=128K count=512 status=none) "$WORK/data" || fail "readahead=$1: data read differs"
  "$CTL" stats "$MNT" -o json | python3 -c '
import json, sys
n = json.load(sys.stdin)["namespaces"][0]
print(n["network"]["reads"], n["network"]["read_bytes"], n["cache"]["read_hits"], n["cache"]["readahead_blocks"])' >"$WORK/ra-$1"
  unmount_fg
}
network_reads 0
network_reads 4M
read -r base_reads base_bytes base_hits _ <"$WORK/ra-0"
read -r ra_reads ra_bytes ra_hits ra_blocks <"$WORK/ra-4M"
echo "  readahead=0:  $base_reads network reads, $base_bytes bytes, $base_hits cache hits"
echo "  readahead=4M: $ra_reads network reads, $ra_bytes bytes, $ra_hits cache hits, $ra_blocks blocks read ahead"
[ "$base_reads" -ge 512 ] || fail "baseline: expected >= 512 network reads (one per 128 KiB request), got $base_reads"
[ "$ra_blocks" -gt 0 ] && [ "$ra_hits" -ge 400 ] || fail "readahead did not serve the sequential read (hits $ra_hits of 1024 blocks)"
[ "$ra_bytes" -le $(((64 + 8) << 20)) ] || fail "readahead read $ra_bytes bytes for 64 MiB (window overshoot)"
ok "readahead serves a sequential read from the cache ($ra_hits hits)"
[ "$ra_reads" -le 256 ] ||
  fail "readahead issued $ra_reads network read commands for 64 MiB in 64 KiB blocks (expected <= 256: prefetch is not merged into larger reads)"
ok "readahead: $ra_reads network reads for 64 MiB (vs $base_reads without)"
