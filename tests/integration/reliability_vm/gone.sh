#!/bin/bash
# The Linux kernel target (nvmet in a QEMU VM named itest-vmgone, port 4655)
# goes away for good under load, with ctrl_loss_tmo=10:
#   - every write blocked at the loss returns EIO within ctrl_loss_tmo + 5 s;
#   - the controller is dead, new I/O fails with EIO at once;
#   - the mount still answers ls, stat and `nvmefs-ctl list` (state dead);
#   - the controller does not come back by itself when the VM returns, but
#     `nvmefs-ctl reconnect MOUNTPOINT` brings it back and I/O works again
#     (a chunk written and read back, then found in the VM's backing file).
#   gone.sh
. "$(dirname "$0")/vm_lib.sh"
CTRL_LOSS=10
WRITERS=4

vm_init itest-vmgone 4655 --ns 1:64M
vm_start --fresh
ok "kernel target VM up ($URI)"
mount_daemon cache=none,reconnect_delay=1,ctrl_loss_tmo=$CTRL_LOSS,keep_alive_tmo=5

# This mount's controller state (other mounts may exist: ask by mount point).
ctrl_state() { timeout 10 "$CTL" stats -o json "$MNT" | grep -o '"controller_state":"[a-z]*"' | head -n 1 | cut -d'"' -f4; }

# Writers: 256 KiB O_DIRECT writes in a loop, each in its own 16 MiB region;
# the first failing write ends a writer and records when and why.
for i in $(seq 0 $((WRITERS - 1))); do
  bg writer$i bash -c '
    i=$1 f=$2 out=$3 n=0
    while dd if=/dev/urandom of="$f" bs=256K count=1 seek=$((i * 64 + n % 64)) oflag=direct conv=notrunc \
            status=none 2>"$out.err"; do
      n=$((n + 1)); echo $n >"$out.count"
    done
    date +%s%3N >"$out.t" && mv "$out.t" "$out.failed_at"' _ "$i" "$MNT/ns1" "$WORK/writer$i"
done
writes() { local c; c=$(cat "$WORK/writer$1.count" 2>/dev/null); echo "${c:-0}"; }
for i in $(seq 0 $((WRITERS - 1))); do
  for _ in $(seq 600); do [ "$(writes $i)" -ge 5 ] && break; sleep 0.1; done
  [ "$(writes $i)" -ge 5 ] || fail "writer $i made no progress"
  [ -e "$WORK/writer$i.failed_at" ] && fail "writer $i failed before the target went away: $(cat "$WORK/writer$i.err")"
done
ok "mounted (ctrl_loss_tmo=$CTRL_LOSS), $WRITERS writers running"

# ---- the target goes away for good ----
gone_at=$(now_ms)
vm_stop
limit=$(((CTRL_LOSS + 5) * 1000))
for i in $(seq 0 $((WRITERS - 1))); do
  while [ ! -e "$WORK/writer$i.failed_at" ] && [ $(($(now_ms) - gone_at)) -lt $((limit + 10000)) ]; do sleep 0.1; done
  [ -s "$WORK/writer$i.failed_at" ] || fail "writer $i still blocked $(((limit + 10000) / 1000)) s after the target went away"
  took=$(($(cat "$WORK/writer$i.failed_at") - gone_at))
  grep -q "Input/output error" "$WORK/writer$i.err" || fail "writer $i failed without EIO: $(cat "$WORK/writer$i.err")"
  [ $took -le $limit ] || fail "writer $i got EIO only after $took ms (limit $limit ms)"
  echo "  writer $i: EIO after $took ms"
done
BG_PGIDS=()   # every writer has ended
ok "every blocked writer got EIO within ctrl_loss_tmo + 5 s"

[ "$(ctrl_state)" = dead ] || fail "controller state '$(ctrl_state)', expected dead"
t0=$(now_ms)
if timeout 10 dd if="$MNT/ns1" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$WORK/newio.err"; then
  fail "a new read succeeded on a dead controller"
fi
took=$(($(now_ms) - t0))
grep -q "Input/output error" "$WORK/newio.err" || fail "new read failed without EIO: $(cat "$WORK/newio.err")"
[ $took -le 2000 ] || fail "new read took $took ms to fail"
timeout 5 ls -l "$MNT" >/dev/null || fail "ls of the mount does not answer"
[ "$(timeout 5 stat -c %s "$MNT/ns1")" = $((64 << 20)) ] || fail "stat of ns1 does not answer"
timeout 10 "$CTL" list >"$WORK/list.out" 2>&1 || fail "nvmefs-ctl list: $(cat "$WORK/list.out")"
# This mount's block: its line, then its controller lines.
awk -v m="$MNT" '$1 == m { mine = 1; next } /^[^ ]/ { mine = 0 } mine && /controller/ && / dead / { found = 1 }
                 END { exit !found }' "$WORK/list.out" || fail "nvmefs-ctl list does not show $MNT dead: $(cat "$WORK/list.out")"
ok "controller dead: new I/O fails with EIO in $took ms; ls, stat and nvmefs-ctl list answer"

# ---- the target returns; only an explicit reconnect brings the mount back ----
vm_start
pause 2   # reconnect_delay x 2: a controller that (wrongly) retried by itself would be live by now
[ "$(ctrl_state)" = dead ] || fail "controller state '$(ctrl_state)' after the VM returned: a dead controller must wait for reconnect"
timeout 30 "$CTL" reconnect "$MNT" >"$WORK/reconnect.out" 2>&1 || fail "nvmefs-ctl reconnect: $(cat "$WORK/reconnect.out")"
grep -q "all controllers live" "$WORK/reconnect.out" || fail "nvmefs-ctl reconnect: $(cat "$WORK/reconnect.out")"
head -c $((1 << 20)) /dev/urandom >"$WORK/chunk"
dd if="$WORK/chunk" of="$MNT/ns1" bs=1M seek=5 oflag=direct conv=notrunc status=none || fail "write after reconnect"
cmp <(dd if="$MNT/ns1" bs=1M skip=5 count=1 iflag=direct status=none) "$WORK/chunk" || fail "read back after reconnect"
ok "VM back: nvmefs-ctl reconnect -> live, 1 MiB written and read back"
unmount_daemon
vm_stop
cmp <(dd if="$VM_STATE/ns1.img" bs=1M skip=5 count=1 status=none) "$WORK/chunk" || fail "the chunk is not in the VM's backing file"
ok "the chunk is in the VM's backing file"
echo "all target-gone checks passed"
