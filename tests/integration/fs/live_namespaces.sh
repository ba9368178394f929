#!/bin/bash
# The mount follows the bundled target while it changes (nvmefs-target
# --control ... ctl): Namespace Attribute Changed and Discovery Log Page
# Change notices (NVMe Base 2.0 §5.2) reach the tree.
#   subsystem mount, cache=writeback:
#     ns-add     -> the file appears; written data reaches the backing file
#     ns-resize  -> under an open descriptor with dirty data: new size in
#                   stat and fstat, data kept, fsync writes it back
#     ns-remove  -> the file disappears, the open descriptor gets EIO
#   discovery mount:
#     subsys-add    -> a directory with the subsystem's namespace appears
#     subsys-remove -> it disappears
. "$NVMEFS_SRC/tests/integration/fs/e2e_lib.sh"
NQN=nqn.2024-01.io.nvmefs:itest-live
NQN2=nqn.2024-01.io.nvmefs:itest-live-b
SOCK=$WORK/target.sock
. "$NVMEFS_SRC/tests/integration/fs/live_lib.sh"

tctl() { timeout 20 "$TARGET" --control "$SOCK" ctl "$@" >>"$WORK/ctl.log" 2>&1 || fail "nvmefs-target ctl $*"; }

start_target "$NQN" --ns "$WORK/ns1.img:16M" --control "$SOCK"
SUBSYS_URI=$URI
mount_fg -o cache=writeback,reconnect_delay=1
ok "mounted $NQN (ns1)"

# ---- ns-add ----
t0=$(date +%s%N)
tctl ns-add 2 "$WORK/ns2.img:16M"
wait_for 10 "ns2 appears" size_is "$MNT/ns2" $((16 << 20))
ok "ns2 appeared $(ms_since "$t0") ms after ns-add"
head -c 1M /dev/urandom >"$WORK/chunk"
dd if="$WORK/chunk" of="$MNT/ns2" bs=64K seek=3 conv=notrunc,fsync status=none || fail "write to ns2"
cmp <(dd if="$WORK/ns2.img" bs=64K skip=3 count=16 status=none) "$WORK/chunk" || fail "backing file of ns2 after fsync"
ok "ns2 written and fsync'd: in the backing file"

# ---- ns-resize under an open descriptor with dirty data ----
hold_open "$MNT/ns2"
ask write 4096 8192 7; [ "$REPLY" = ok ] || fail "dirty write: $REPLY"
t0=$(date +%s%N)
tctl ns-resize 2 24M
wait_for 10 "ns2 grows to 24 MiB" size_is "$MNT/ns2" $((24 << 20))
ok "ns2 grew to 24 MiB, seen $(ms_since "$t0") ms after ns-resize"
ask fstat; [ "$REPLY" = "size $((24 << 20))" ] || fail "fstat on the open descriptor: $REPLY"
ask check 4096 8192 7; [ "$REPLY" = ok ] || fail "dirty data after resize: $REPLY"
ask write $((20 << 20)) 65536 8; [ "$REPLY" = ok ] || fail "write in the new range: $REPLY"
ask fsync; [ "$REPLY" = ok ] || fail "fsync after resize: $REPLY"
cmp <(dd if="$WORK/ns2.img" bs=4096 skip=1 count=2 status=none) \
  <(python3 -c 'import random,sys;sys.stdout.buffer.write(random.Random(7).randbytes(8192))') ||
  fail "dirty data not in the backing file after fsync"
cmp <(dd if="$WORK/ns2.img" bs=64K skip=320 count=1 status=none) \
  <(python3 -c 'import random,sys;sys.stdout.buffer.write(random.Random(8).randbytes(65536))') ||
  fail "data in the grown range not in the backing file after fsync"
ok "descriptor kept working across the resize; fsync wrote its data"

# ---- ns-remove ----
t0=$(date +%s%N)
tctl ns-remove 2
wait_for 10 "ns2 disappears" absent "$MNT/ns2"
ok "ns2 gone $(ms_since "$t0") ms after ns-remove"
ask check 4096 8192 7; [ "$REPLY" = "err EIO" ] || fail "read on a removed namespace's descriptor: $REPLY (want EIO)"
ask write 0 4096 9; [ "$REPLY" = "err EIO" ] || fail "write on a removed namespace's descriptor: $REPLY (want EIO)"
ask fsync; [ "$REPLY" = "err EIO" ] || fail "fsync on a removed namespace's descriptor: $REPLY (want EIO)"
hold_close
[ "$(ls "$MNT")" = ns1 ] || fail "tree after removal: $(ls "$MNT")"
dd if="$MNT/ns1" of=/dev/null bs=1M count=4 status=none || fail "ns1 stopped working"
ok "open descriptor of the removed ns2 gets EIO; ns1 still works"
unmount_fg

# ---- discovery mount follows subsystems ----
URI=${SUBSYS_URI%/*}
mount_fg -o cache=writethrough
[ -f "$MNT/$NQN/ns1" ] || fail "discovery mount: no $NQN/ns1: $(ls -R "$MNT")"
t0=$(date +%s%N)
tctl subsys-add "$NQN2" --ns "$WORK/b1.img:8M"
wait_for 15 "$NQN2/ns1 appears" size_is "$MNT/$NQN2/ns1" $((8 << 20))
ok "subsystem $NQN2 appeared $(ms_since "$t0") ms after subsys-add"
dd if="$WORK/chunk" of="$MNT/$NQN2/ns1" bs=64K conv=notrunc,fsync status=none || fail "write to $NQN2/ns1"
cmp <(head -c 1M "$WORK/b1.img") "$WORK/chunk" || fail "backing file of $NQN2/ns1"
t0=$(date +%s%N)
tctl subsys-remove "$NQN2"
wait_for 15 "$NQN2 disappears" absent "$MNT/$NQN2"
ok "subsystem $NQN2 gone $(ms_since "$t0") ms after subsys-remove"
[ -f "$MNT/$NQN/ns1" ] || fail "$NQN/ns1 vanished too"
unmount_fg
ok "unmounted"
