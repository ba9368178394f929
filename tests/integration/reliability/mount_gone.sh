#!/bin/bash
# The target goes away for good (SIGKILL) while reads and writes are in
# flight through the mount (cache=none, ctrl_loss_tmo 5 s, reconnect_delay
# 1 s): every blocked read/write must return EIO within ctrl_loss_tmo + 5 s,
# new I/O must fail at once (< 1 s) with EIO, and ls, stat and nvmefs-ctl
# list must still answer (controller "dead"). Then the target comes back
# (same data) and `nvmefs-ctl reconnect MOUNTPOINT` brings I/O back.
#   mount_gone.sh PORT
PORT=${1:-4617}
. "$(dirname "$0")/mount_lib.sh"
CTRL_LOSS=5
THREADS=4

start_target_on "$PORT"
mount_fg -o "cache=none,ctrl_loss_tmo=$CTRL_LOSS,reconnect_delay=1"
python3 "$HERE/blocked_io.py" "$MNT/ns1" $THREADS 60 >"$WORK/blocked.out" 2>&1 &
io=$!
EXTRA_CLEANUP="kill $io 2>/dev/null; $EXTRA_CLEANUP"
for _ in $(seq 100); do grep -q '^running' "$WORK/blocked.out" && break; sleep 0.1; done
grep -q '^running' "$WORK/blocked.out" || fail "the I/O threads did not start: $(cat "$WORK/blocked.out")"
sleep 0.5  # every thread has an operation in flight all the time
kill_target
gone_at=$(now_ms)
timeout 60 tail --pid=$io -f /dev/null || fail "blocked I/O did not return within 60 s"
wait $io || fail "blocked_io.py: $(cat "$WORK/blocked.out")"
cat "$WORK/blocked.out"

limit=$(((CTRL_LOSS + 5) * 1000))
worst=0
n=0
while read -r line; do
  n=$((n + 1))
  errno=$(sed -n 's/.* errno=\([^ ]*\).*/\1/p' <<<"$line")
  at=$(sed -n 's/.* returned_at_ms=\([0-9]*\).*/\1/p' <<<"$line")
  [ "$errno" = 5 ] || fail "blocked I/O did not fail with EIO: $line"
  took=$((at - gone_at))
  [ $took -gt $worst ] && worst=$took
  [ $took -le $limit ] || fail "blocked I/O returned $took ms after the target went away (limit $limit ms): $line"
done < <(grep '^thread=' "$WORK/blocked.out")
[ $n = $THREADS ] || fail "$n of $THREADS threads reported"
while read -r line; do
  errno=$(sed -n 's/.* errno=\([^ ]*\).*/\1/p' <<<"$line")
  ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<<"$line")
  [ "$errno" = 5 ] && [ "$ms" -lt 1000 ] || fail "new I/O on a dead controller must fail at once with EIO: $line"
done < <(grep '^new ' "$WORK/blocked.out")
[ "$(grep -c '^new ' "$WORK/blocked.out")" = 2 ] || fail "no new-I/O results"
ok "blocked I/O of $THREADS threads returned EIO at most $worst ms after the loss (limit $limit); new I/O fails at once"

timeout 5 ls -l "$MNT" >/dev/null || fail "ls on the mount with a dead controller"
timeout 5 stat "$MNT/ns1" >/dev/null || fail "stat on the mount with a dead controller"
timeout 10 "$CTL" list >"$WORK/list.out" 2>&1 || fail "nvmefs-ctl list: $(cat "$WORK/list.out")"
grep -q dead "$WORK/list.out" || fail "nvmefs-ctl list does not show the controller dead: $(cat "$WORK/list.out")"
ok "ls, stat, nvmefs-ctl list answer; the controller is dead"

start_target_on "$PORT"
t0=$(now_ms)
timeout 20 "$CTL" reconnect "$MNT" >"$WORK/reconnect.out" 2>&1 || fail "nvmefs-ctl reconnect: $(cat "$WORK/reconnect.out")"
wait_reconnects 0 15 >/dev/null || fail "not live after reconnect: $(ctl_state)"
took=$(($(now_ms) - t0))
head -c $((1 << 20)) /dev/urandom >"$WORK/data"
dd if="$WORK/data" of="$MNT/ns1" bs=64k seek=100 conv=notrunc status=none || fail "write after reconnect"
cmp <(dd if="$MNT/ns1" bs=64k skip=100 count=16 status=none) "$WORK/data" || fail "read back after reconnect"
cmp <(dd if="$DISK" bs=64k skip=100 count=16 status=none) "$WORK/data" || fail "the write after reconnect is not in the backing file"
unmount_fg
ok "target back + nvmefs-ctl reconnect: live in $took ms, I/O works again"
