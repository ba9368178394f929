#!/bin/bash
# fio with crc32c verify through a real mount of the bundled target: block
# sizes 4k/64k/1M x queue depths 1/16/64, libaio + O_DIRECT, random writes
# then a verifying read pass, in every cache mode (writeback also with a
# cache smaller than the data, so verification reads come back from the
# target after write-back and eviction).
. "$(dirname "$0")/e2e_lib.sh"
command -v fio >/dev/null || fail "fio is not installed"

start_target nqn.2024-01.io.nvmefs:e2e-fio --ns "$WORK/ns1.img:64M"
for opts in cache=none cache=writethrough cache=writeback cache=writeback,cache_size=4M,cache_block=64K,dirty_max=2M; do
  mount_fg -o "$opts"
  for bs in 4k 64k 1M; do
    for qd in 1 16 64; do
      json=$WORK/fio-$bs-$qd.json
      timeout 120 fio --name=verify --filename="$MNT/ns1" --size=32M --offset=$((RANDOM % 16))M --bs=$bs \
        --rw=randwrite --ioengine=libaio --direct=1 --iodepth=$qd --verify=crc32c --do_verify=1 \
        --verify_fatal=1 --output-format=json --output="$json" >"$WORK/fio.log" 2>&1 ||
        fail "$opts bs=$bs qd=$qd: fio exited non-zero: $(tail -n 5 "$WORK/fio.log")"
      python3 - "$json" <<'PY' || fail "$opts bs=$bs qd=$qd: fio result"
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["error"] == 0, job["error"]
assert job["write"]["io_bytes"] == 32 << 20, job["write"]["io_bytes"]
assert job["read"]["io_bytes"] == 32 << 20, job["read"]["io_bytes"]   # the verify pass
PY
    done
  done
  unmount_fg
  ok "$opts: fio randwrite + crc32c verify, bs 4k/64k/1M x QD 1/16/64"
done
echo "all fio verify runs passed"
