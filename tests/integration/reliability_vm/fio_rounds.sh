#!/bin/bash
# fio rounds on a mounted namespace file until STATE/stop exists: random
# writes then a crc32c verifying read pass over one 16 MiB region per round
# (regions 0, 16, 32 MiB in turn; block size / queue depth vary). A round
# that fails (fio exit status, an I/O or verify error, short I/O) writes
# STATE/fio.fail and ends the loop. After each good round the region's
# parameters go to STATE/fio.region<OFFSET_MIB>, so the data can be
# regenerated later (fio output depends only on these parameters).
# STATE/fio.exit gets the loop's exit status.
#   fio_rounds.sh FILE STATE
set -uo pipefail
FILE=$1 STATE=$2
SHAPES=("4k 16" "64k 8" "1M 4" "16k 32")
trap 'echo $? >"$STATE/fio.exit"' EXIT
r=0
while [ ! -e "$STATE/stop" ]; do
  set -- ${SHAPES[$((r % ${#SHAPES[@]}))]}
  bs=$1 qd=$2 off=$(((r % 3) * 16)) seed=$((RANDOM * 32768 + RANDOM + 1))
  r=$((r + 1))
  json=$STATE/fio-round.json
  # --foreground: fio stays in this process group, which the caller kills.
  timeout --foreground -k 10 300 fio --name=round$r --filename="$FILE" --offset=${off}M --size=16M --bs="$bs" --iodepth="$qd" \
    --rw=randwrite --ioengine=libaio --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --randseed=$seed \
    --output-format=json --output="$json" >"$STATE/fio-round.out" 2>&1
  rc=$?
  what="round $r (bs=$bs qd=$qd off=${off}M seed=$seed)"
  if [ $rc != 0 ]; then
    echo "$what: fio exit status $rc: $(tail -n 3 "$STATE/fio-round.out" | tr '\n' ' ')" >"$STATE/fio.fail"
    exit 1
  fi
  if ! python3 - "$json" >"$STATE/fio-check.out" 2>&1 <<'PY'; then
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["error"] == 0, f"error {job['error']}"
assert job["write"]["io_bytes"] == 16 << 20, f"wrote {job['write']['io_bytes']}"
assert job["read"]["io_bytes"] == 16 << 20, f"verified {job['read']['io_bytes']}"
PY
    echo "$what: $(tail -n 1 "$STATE/fio-check.out")" >"$STATE/fio.fail"
    exit 1
  fi
  echo "$bs $qd $seed" >"$STATE/fio.region$off"
  echo "$r" >"$STATE/fio.rounds"
  echo "$what ok"
done
