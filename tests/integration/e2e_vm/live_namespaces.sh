#!/bin/bash
# Namespace changes on the Linux kernel target while nvmefs has it mounted
# (nvmet in a QEMU VM, name itest-live, port 4525; cache=writeback). nvmet
# sends Namespace Attribute Changed notices (NVMe Base 2.0 §5.2) and the
# mount must follow them:
#   1. a namespace added in configfs (file-backed in the guest) appears as a
#      file; data written to it reaches the guest's backing file;
#   2. the namespace grows (truncate + revalidate_size) under an open
#      descriptor holding dirty write-back data: stat shows the new size, the
#      descriptor keeps working, fsync writes the data, the new range works;
#   3. the namespace is disabled: its file disappears, the open descriptor
#      gets EIO, ns1 keeps working;
#   4. enabled again: the file is back with its data.
. "$NVMEFS_SRC/tests/integration/fs/e2e_lib.sh"
VM=${NVMET_VM:?NVMET_VM not set}
[ -x "$VM" ] || fail "no nvmet-vm at $VM"
NAME=itest-live
PORT=4525
STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$NAME
EXTRA_CLEANUP='"$VM" stop --name $NAME >/dev/null 2>&1'
. "$NVMEFS_SRC/tests/integration/fs/live_lib.sh"
NS2='$CFG/subsystems/$NQN/namespaces/2'

vmctl() { timeout 30 "$VM" ctl --name $NAME "$@"; }

timeout 120 "$VM" start --name $NAME --port $PORT --ns 1:64M --fresh >"$WORK/vm.log" 2>&1 || fail "nvmet-vm start"
NQN=$(sed -n 's/^nqn=//p' "$STATE/info")
URI=nvme+tcp://127.0.0.1:$PORT/$NQN
mount_fg -o cache=writeback,reconnect_delay=1
[ -f "$MNT/ns1" ] && absent "$MNT/ns2" || fail "expected only ns1 at mount time: $(ls "$MNT")"
ok "mounted $NQN (ns1 only)"

# ---- 1. a namespace appears ----
t0=$(date +%s%N)
vmctl "truncate -s 32M /tmp/ns2.img && mkdir $NS2 && echo -n /tmp/ns2.img > $NS2/device_path && echo 1 > $NS2/enable" >/dev/null ||
  fail "adding namespace 2 in configfs"
wait_for 20 "ns2 appears" size_is "$MNT/ns2" $((32 << 20))
ok "ns2 appeared $(ms_since "$t0") ms after it was enabled in configfs"
head -c 1M /dev/urandom >"$WORK/chunk"
dd if="$WORK/chunk" of="$MNT/ns2" bs=64K seek=1 conv=notrunc,fsync status=none || fail "write to ns2"
want=$(md5sum <"$WORK/chunk" | cut -c1-32)
got=$(vmctl "dd if=/tmp/ns2.img bs=64K skip=1 count=16 2>/dev/null | md5sum" | cut -c1-32)
[ "$want" = "$got" ] || fail "guest backing file of ns2 differs after fsync ($got, want $want)"
ok "written through the mount, fsync'd, and found in the guest's backing file"

# ---- 2. it grows under an open descriptor with dirty data ----
hold_open "$MNT/ns2"
ask write 4096 8192 7; [ "$REPLY" = ok ] || fail "dirty write before resize: $REPLY"
t0=$(date +%s%N)
vmctl "truncate -s 48M /tmp/ns2.img && echo 1 > $NS2/revalidate_size" >/dev/null || fail "growing namespace 2"
wait_for 20 "ns2 grows to 48 MiB" size_is "$MNT/ns2" $((48 << 20))
ok "ns2 grew to 48 MiB, seen $(ms_since "$t0") ms after revalidate_size"
ask fstat; [ "$REPLY" = "size $((48 << 20))" ] || fail "fstat on the open descriptor: $REPLY"
ask check 4096 8192 7; [ "$REPLY" = ok ] || fail "dirty data after resize: $REPLY"
ask write $((40 << 20)) 65536 8; [ "$REPLY" = ok ] || fail "write in the new range: $REPLY"
ask fsync; [ "$REPLY" = ok ] || fail "fsync after resize: $REPLY"
got=$(vmctl "dd if=/tmp/ns2.img bs=4096 skip=1 count=2 2>/dev/null | md5sum" | cut -c1-32)
want=$(python3 -c 'import random,hashlib;print(hashlib.md5(random.Random(7).randbytes(8192)).hexdigest())')
[ "$want" = "$got" ] || fail "dirty data was not written back to the grown namespace"
ok "open descriptor kept working across the resize; its dirty data reached the target on fsync"

# ---- 3. it is disabled ----
vmctl "ns_disable 2" >/dev/null || fail "ns_disable 2"
wait_for 20 "ns2 disappears" absent "$MNT/ns2"
ask check 4096 8192 7; [ "$REPLY" = "err EIO" ] || fail "read on a removed namespace's descriptor: $REPLY (want EIO)"
ask write 0 4096 9; [ "$REPLY" = "err EIO" ] || fail "write on a removed namespace's descriptor: $REPLY (want EIO)"
dd if="$MNT/ns1" of=/dev/null bs=1M count=4 status=none || fail "ns1 stopped working"
hold_close
ok "ns2 gone: its descriptor gets EIO, ns1 still works"

# ---- 4. enabled again, with its data ----
vmctl "ns_enable 2" >/dev/null || fail "ns_enable 2"
wait_for 20 "ns2 comes back" size_is "$MNT/ns2" $((48 << 20))
cmp <(dd if="$MNT/ns2" bs=64K skip=1 count=16 status=none) "$WORK/chunk" || fail "ns2 data after re-enable"
ok "ns2 back with its data"
unmount_fg
ok "unmounted"
