#!/bin/bash
# The fsx-style exerciser (exerciser.cpp) through a real mount of the bundled
# target, in every cache mode, each also with a tiny cache (2 MiB of 64 KiB
# blocks: constant eviction and write-back). Per mode: 4 threads of random
# reads/writes/O_DSYNC writes/hole punches/zeroings/fsyncs checked against
# the model, then unmount (final write-back) and the target's backing file
# must equal the model byte for byte; then remount (new daemon) and read the
# whole file back through nvmefs against the model.
#   exerciser.sh EXERCISER      (EXERCISER_SEED=N, EXERCISER_OPS=N to reproduce/scale)
EXERCISER=${1:?usage: exerciser.sh EXERCISER}
. "$(dirname "$0")/e2e_lib.sh"
[ -x "$EXERCISER" ] || fail "no exerciser at $EXERCISER"
OPS=${EXERCISER_OPS:-1500}

start_target nqn.2024-01.io.nvmefs:e2e-exerciser --ns "$WORK/ns1.img:64M"
# The file starts as random data, so zeros read back from a hole are the cache's or the target's doing.
mount_fg -o cache=none
head -c $((64 << 20)) /dev/urandom | dd of="$MNT/ns1" bs=1M iflag=fullblock conv=notrunc status=none
unmount_fg

TINY=cache_size=2M,cache_block=64K
for opts in cache=none cache=writethrough cache=writeback \
            cache=none,$TINY cache=writethrough,$TINY cache=writeback,$TINY,dirty_max=1M; do
  seed=${EXERCISER_SEED:-$((RANDOM * 32768 + RANDOM))}
  mount_fg -o "$opts"
  timeout 300 "$EXERCISER" "$MNT/ns1" --seed "$seed" --threads 4 --ops "$OPS" --dump "$WORK/model" \
    >"$WORK/exerciser.log" 2>&1 || fail "$opts: exerciser (seed $seed): $(tail -n 16 "$WORK/exerciser.log")"
  summary=$(tail -n 1 "$WORK/exerciser.log")
  unmount_fg
  cmp "$WORK/ns1.img" "$WORK/model" || fail "$opts: the target's backing file differs from the model after unmount (seed $seed)"
  mount_fg -o "$opts"
  timeout 120 "$EXERCISER" "$MNT/ns1" --verify-file "$WORK/model" >"$WORK/verify.log" 2>&1 ||
    fail "$opts: after remount: $(cat "$WORK/verify.log")"
  unmount_fg
  ok "$opts seed=$seed: ${summary#exerciser: }; backing file and remount match"
done
echo "all exerciser runs passed"
