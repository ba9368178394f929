#!/bin/bash
# nvmefs against the Linux kernel NVMe/TCP target (nvmet in a QEMU VM, TCG,
# name itest-e2e, port 4520). The namespace (256 MiB) is used in two halves:
#   [0, 128M)   a short exerciser run (cache=writethrough), dd/cmp round trips
#               at odd offsets (in-capsule <= 16 KiB and R2T writes), fio verify;
#               all of it tracked in a model file;
#   [128M, 256M) ext4 on a loop device with an offset, files with checksums,
#               e2fsck after a remount with a new daemon.
# Then unmount, stop the VM, and check the VM's backing file on the host: the
# first half equals the model byte for byte, and the second half is an ext4
# that e2fsck finds clean with every file's checksum intact.
#   mount_kernel_target.sh EXERCISER
EXERCISER=${1:?usage: mount_kernel_target.sh EXERCISER}
. "$NVMEFS_SRC/tests/integration/fs/e2e_lib.sh"
VM=${NVMET_VM:?NVMET_VM not set}
[ -x "$VM" ] || fail "no nvmet-vm at $VM"
[ -x "$EXERCISER" ] || fail "no exerciser at $EXERCISER"
command -v fio >/dev/null || fail "fio is not installed"
NAME=itest-e2e
PORT=4520
STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$NAME
HALF=$((128 << 20))
EXTRA_CLEANUP='"$VM" stop --name $NAME >/dev/null 2>&1'

timeout 120 "$VM" start --name $NAME --port $PORT --ns 1:256M --fresh >"$WORK/vm.log" 2>&1 || fail "nvmet-vm start"
NQN=$(sed -n 's/^nqn=//p' "$STATE/info")
NQN=${NQN:-nqn.2014-08.org.nvmexpress:nvmet-vm:$NAME}
BACKING=$STATE/ns1.img
[ -f "$BACKING" ] || fail "no backing file $BACKING"
# The discovery log names the guest's 10.0.2.15; the forwarded port is on 127.0.0.1.
URI=nvme+tcp://127.0.0.1:$PORT/$NQN
ok "kernel target VM up ($NQN)"

mount_fg -o cache=writethrough
[ "$(stat -c %s "$MNT/ns1")" = $((256 << 20)) ] || fail "ns1 size $(stat -c %s "$MNT/ns1")"

# ---- exerciser over the whole file, then the model tracks the first half ----
timeout 150 "$EXERCISER" "$MNT/ns1" --seed "${EXERCISER_SEED:-$((RANDOM * 32768 + RANDOM))}" --threads 2 --ops 200 \
  --max-len 256K --shared 1M --dump "$WORK/model" >"$WORK/exerciser.log" 2>&1 ||
  fail "exerciser: $(tail -n 16 "$WORK/exerciser.log")"
ok "exerciser (cache=writethrough): $(tail -n 1 "$WORK/exerciser.log" | sed 's/^exerciser: //')"

# ---- dd/cmp round trips at odd offsets: in-capsule (<= 16 KiB) and R2T sizes ----
for spec in 1:7 511:1000001 4097:2000003 16384:3000005 16385:4000007 20000:5000011 $((1 << 20)):6000013 $((3 << 20)):9999991; do
  len=${spec%%:*} off=${spec##*:}
  head -c "$len" /dev/urandom >"$WORK/chunk"
  dd if="$WORK/chunk" of="$MNT/ns1" bs=64K seek="$off" oflag=seek_bytes conv=notrunc status=none || fail "dd write $len@$off"
  dd if="$WORK/chunk" of="$WORK/model" bs=64K seek="$off" oflag=seek_bytes conv=notrunc status=none
  cmp <(dd if="$MNT/ns1" bs=64K skip="$off" count="$len" iflag=skip_bytes,count_bytes status=none) "$WORK/chunk" ||
    fail "round trip of $len bytes at $off"
done
ok "dd/cmp round trips at odd offsets (1 B .. 3 MiB)"

# ---- fio verify in [64M, 80M) ----
for job in "4k 16" "1M 4"; do
  set -- $job
  timeout 120 fio --name=verify --filename="$MNT/ns1" --offset=64M --size=16M --bs="$1" --iodepth="$2" \
    --rw=randwrite --ioengine=libaio --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --output="$WORK/fio.log" >/dev/null 2>&1 || fail "fio verify bs=$1 qd=$2: $(tail -n 5 "$WORK/fio.log")"
  grep -q "err= 0" "$WORK/fio.log" || fail "fio bs=$1 qd=$2 reported errors"
done
dd if="$MNT/ns1" of="$WORK/model" bs=1M skip=64 seek=64 count=16 conv=notrunc status=none
ok "fio randwrite + crc32c verify (4k QD16, 1M QD4)"

# ---- ext4 in the second half, across a remount ----
ext4_loop() { LOOP=$(losetup --find --show --offset $HALF --sizelimit $HALF "$MNT/ns1") || fail "losetup"; }
ext4_loop
mkfs.ext4 -q -F "$LOOP" >"$WORK/mkfs.log" 2>&1 || fail "mkfs.ext4"
mount "$LOOP" "$EXT" || fail "mount ext4"
make_tree "$EXT" 60 $((512 << 10))
ext4_detach
unmount_fg
mount_fg -o cache=writethrough
ext4_loop
e2fsck -fn "$LOOP" >"$WORK/fsck.log" 2>&1 || fail "e2fsck after remount: $(tail -n 5 "$WORK/fsck.log")"
mount -o ro "$LOOP" "$EXT" || fail "mount ext4 after remount"
check_tree "$EXT"
ext4_detach
cmp -n $HALF <(dd if="$MNT/ns1" bs=1M count=128 status=none) "$WORK/model" || fail "first half differs from the model through nvmefs"
unmount_fg
ok "ext4 on a loop device: 60 files, fsck clean and checksums intact after a new daemon"

# ---- the VM's backing file holds exactly what was written ----
"$VM" stop --name $NAME >/dev/null 2>&1 || fail "nvmet-vm stop"
cmp -n $HALF "$BACKING" "$WORK/model" || fail "VM backing file differs from the model in the first half"
LOOP=$(losetup --find --show --read-only --offset $HALF --sizelimit $HALF "$BACKING") || fail "losetup backing"
e2fsck -fn "$LOOP" >"$WORK/fsck2.log" 2>&1 || fail "e2fsck on the VM's backing file: $(tail -n 5 "$WORK/fsck2.log")"
mount -o ro,noload "$LOOP" "$EXT" || fail "mount the backing file's ext4"
check_tree "$EXT"
ext4_detach
ok "VM backing file: first half equals the model, ext4 in the second half clean with intact checksums"
echo "all kernel-target end-to-end checks passed"
