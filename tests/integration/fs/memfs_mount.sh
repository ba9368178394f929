#!/bin/bash
# FUSE layer over in-memory devices (memfs_mount): sizes, unaligned I/O,
# concurrent writers, fsync, fallocate, xattrs, statfs, truncate, read-only,
# durability after unmount, clean /proc/mounts.
#   memfs_mount.sh PATH/TO/memfs_mount
set -euo pipefail
MEMFS=${1:?usage: memfs_mount.sh PATH/TO/memfs_mount}
WORK=$(mktemp -d /tmp/nvmefs-memfs.XXXXXX)
MNT=$WORK/mnt
DUMP=$WORK/dump
mkdir -p "$MNT" "$DUMP"
chmod 755 "$WORK"  # other users must reach the mount point (allow_other test)
PID=

cleanup() {
  if grep -q " $MNT " /proc/mounts; then umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null || true; fi
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$WORK/log" ] && sed 's/^/  memfs: /' "$WORK/log" >&2; exit 1; }
ok() { echo "ok - $*"; }

mount_memfs() {  # [-o OPTION]...
  "$MEMFS" "$MNT" "$DUMP" "$@" >"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    grep -q " $MNT fuse.nvmefs " /proc/mounts && return 0
    kill -0 "$PID" 2>/dev/null || fail "memfs_mount exited before mounting"
    sleep 0.1
  done
  fail "not mounted after 10 s"
}

unmount_memfs() {
  umount "$MNT" || fail "umount"
  local rc=0
  timeout 30 tail --pid="$PID" -f /dev/null || fail "memfs_mount did not exit after umount"
  wait "$PID" || rc=$?
  PID=
  [ "$rc" = 0 ] || fail "memfs_mount exit code $rc"
  ! grep -q " $MNT " /proc/mounts || fail "still in /proc/mounts after unmount"
}

# errno of a libc call through python (the error text must be the one we promise).
py_errno() { python3 -c "$1" 2>&1 | tail -1; }

# ---------------------------------------------------------------------------
mount_memfs
[ "$(stat -c %s "$MNT/ns1")" = $((64 << 20)) ] || fail "ns1 size"
[ "$(stat -c %s "$MNT/ns2")" = $((16 << 20)) ] || fail "ns2 size"
[ "$(stat -c %s "$MNT/sub/ns3")" = $((1 << 20)) ] || fail "ns3 size"
[ "$(stat -c %a "$MNT/ns1")" = 644 ] || fail "ns1 mode $(stat -c %a "$MNT/ns1")"
[ "$(stat -c %a "$MNT/sub/ns3")" = 444 ] || fail "write-protected ns3 mode"
[ "$(ls "$MNT" | tr '\n' ' ')" = "ns1 ns2 sub " ] || fail "listing: $(ls "$MNT")"
ok "tree, sizes, modes"

# Unaligned round trip: odd block size at an odd offset, on both LBA sizes.
head -c 300000 /dev/urandom >"$WORK/rand"
for f in ns1 ns2; do
  dd if="$WORK/rand" of="$MNT/$f" bs=777 seek=5 conv=notrunc status=none
  cmp <(dd if="$MNT/$f" bs=1 skip=$((777 * 5)) count=300000 status=none) "$WORK/rand" || fail "$f unaligned round trip"
  cmp <(dd if="$MNT/$f" bs=1000003 count=1 iflag=fullblock status=none | head -c 3885) <(head -c 3885 /dev/zero) ||
    fail "$f bytes before the write changed"
done
ok "unaligned dd round trip (bs=777 at offset 3885, LBA 512 and 4096)"

# Reads past EOF are short / empty; writes at EOF fail with ENOSPC; a write crossing EOF is short.
[ "$(dd if="$MNT/ns2" bs=4096 skip=$(((16 << 20) / 4096)) status=none | wc -c)" = 0 ] || fail "read at EOF not empty"
[ "$(dd if="$MNT/ns2" bs=1M skip=$(((16 << 20) - 100)) iflag=skip_bytes status=none | wc -c)" = 100 ] || fail "read across EOF not short"
out=$(py_errno "import os; fd=os.open('$MNT/ns2', os.O_WRONLY); os.pwrite(fd, b'x'*10, 16<<20)" || true)
[[ "$out" == *"No space left on device"* ]] || fail "write at EOF: $out"
out=$(python3 -c "import os; fd=os.open('$MNT/ns2', os.O_WRONLY); print(os.pwrite(fd, b'y'*100, (16<<20)-40))")
[ "$out" = 40 ] || fail "write across EOF returned $out, expected 40"
ok "EOF semantics (short read, ENOSPC, short write)"

# Concurrent writers into distinct regions (direct I/O), then verify each.
for i in 0 1 2 3; do
  head -c $((2 << 20)) /dev/urandom >"$WORK/part$i"
done
writers=()
for i in 0 1 2 3; do
  dd if="$WORK/part$i" of="$MNT/ns1" bs=64K seek=$((8 + i * 2))M oflag=direct,seek_bytes conv=notrunc status=none &
  writers+=($!)
done
for w in "${writers[@]}"; do wait "$w" || fail "concurrent writer failed"; done
for i in 0 1 2 3; do
  cmp <(dd if="$MNT/ns1" bs=64K skip=$((8 + i * 2))M count=2M iflag=skip_bytes,count_bytes status=none) "$WORK/part$i" ||
    fail "concurrent writer $i"
done
ok "4 concurrent writers"

# fsync reaches the device as Flush; the data is in the device after unmount.
python3 -c "import os; fd=os.open('$MNT/ns2', os.O_RDWR); os.pwrite(fd, b'durable!', 8192); os.fsync(fd); os.fdatasync(fd)"
python3 -c "import os; fd=os.open('$MNT/ns2', os.O_RDWR|os.O_DSYNC); os.pwrite(fd, b'dsync', 20000)"
ok "fsync / fdatasync / O_DSYNC"

# fallocate: punch (aligned and not), zero range, plain within size, beyond size.
head -c $((1 << 20)) /dev/urandom | dd of="$MNT/ns1" bs=1M seek=40 conv=notrunc status=none
fallocate -p -o $((40 << 20)) -l 65536 "$MNT/ns1" || fail "punch aligned"
fallocate -p -o $(((40 << 20) + 100000)) -l 1001 "$MNT/ns1" || fail "punch unaligned"
fallocate -z -o $(((40 << 20) + 200000)) -l 5000 "$MNT/ns1" || fail "zero range"
cmp <(dd if="$MNT/ns1" bs=65536 skip=$((40 << 20)) count=65536 iflag=skip_bytes,count_bytes status=none) <(head -c 65536 /dev/zero) || fail "punched range not zero"
cmp <(dd if="$MNT/ns1" bs=1001 skip=$(((40 << 20) + 100000)) count=1001 iflag=skip_bytes,count_bytes status=none) <(head -c 1001 /dev/zero) || fail "unaligned punch not zero"
cmp <(dd if="$MNT/ns1" bs=5000 skip=$(((40 << 20) + 200000)) count=5000 iflag=skip_bytes,count_bytes status=none) <(head -c 5000 /dev/zero) || fail "zero range not zero"
[ "$(dd if="$MNT/ns1" bs=1 skip=$(((40 << 20) + 65536)) count=4096 iflag=skip_bytes status=none | tr -d '\0' | wc -c)" -gt 0 ] || fail "punch zeroed too much"
fallocate -l $((1 << 20)) "$MNT/ns1" || fail "plain fallocate within size"
out=$(fallocate -l $((128 << 20)) "$MNT/ns1" 2>&1 || true)
[[ "$out" == *"too large"* ]] || fail "fallocate beyond size: '$out'"
ok "fallocate punch/zero/plain/beyond"

# Extended attributes, with size-0 probing and ERANGE.
python3 - "$MNT" <<'PY' || fail "xattrs"
import ctypes, errno, os, sys
mnt = sys.argv[1]
names = os.listxattr(mnt + "/ns1")
assert names == ["user.nvme.nsid", "user.nvme.lba_size", "user.nvme.model"], names
assert os.getxattr(mnt + "/ns2", "user.nvme.lba_size") == b"4096"
libc = ctypes.CDLL(None, use_errno=True)
p = (mnt + "/ns1").encode()
assert libc.getxattr(p, b"user.nvme.model", None, 0) == len("memfs test device")
assert libc.listxattr(p, None, 0) == sum(len(n) + 1 for n in names)
buf = ctypes.create_string_buffer(3)
assert libc.getxattr(p, b"user.nvme.model", buf, 3) == -1 and ctypes.get_errno() == errno.ERANGE
for call, expect in ((lambda: os.getxattr(mnt + "/ns1", "user.nope"), errno.ENODATA),
                     (lambda: os.setxattr(mnt + "/ns1", "user.nvme.nsid", b"9"), errno.EPERM),
                     (lambda: os.setxattr(mnt + "/ns1", "user.other", b"9"), errno.ENOTSUP),
                     (lambda: os.removexattr(mnt + "/ns1", "user.nvme.nsid"), errno.EPERM)):
    try:
        call(); raise SystemExit("no error")
    except OSError as e:
        assert e.errno == expect, (e, expect)
PY
ok "xattrs (list, get, size 0, ERANGE, ENODATA, setxattr EPERM/ENOTSUP)"

# statfs: capacity is the sum of the namespaces.
total=$(( (64 + 16 + 1) << 20 ))
[ "$(stat -f -c '%b*%S' "$MNT" | bc)" = "$total" ] || fail "statfs blocks: $(stat -f -c '%b %S' "$MNT")"
[ "$(df -B1 --output=size "$MNT" | tail -1 | tr -d ' ')" = "$total" ] || fail "df size"
ok "statfs / df capacity"

# truncate to another size fails clearly; to the same size succeeds; O_TRUNC is ignored.
out=$(truncate -s 0 "$MNT/ns1" 2>&1 || true)
[[ "$out" == *"Operation not permitted"* ]] || fail "truncate: '$out'"
truncate -s $((64 << 20)) "$MNT/ns1" || fail "truncate to same size"
echo hello >"$MNT/ns2"
[ "$(stat -c %s "$MNT/ns2")" = $((16 << 20)) ] || fail "O_TRUNC changed the size"
[ "$(head -c 6 "$MNT/ns2")" = hello ] || fail "write after O_TRUNC open"
out=$(chmod 600 "$MNT/ns1" 2>&1 || true)
[[ "$out" == *"not permitted"* ]] || fail "chmod: '$out'"
touch "$MNT/ns1" || fail "touch"
ok "truncate EPERM, same-size ok, O_TRUNC ignored, chmod EPERM, touch ok"

# Write-protected namespace.
out=$( (echo x >"$MNT/sub/ns3") 2>&1 || true)
[[ "$out" == *"Read-only file system"* ]] || fail "write to write-protected ns: '$out'"
head -c 10 "$MNT/sub/ns3" >/dev/null || fail "read write-protected ns"
ok "write-protected namespace: EROFS"

# Permissions as another user: the kernel checks the modes (default_permissions);
# without allow_other other users cannot even look.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
  ! setpriv --reuid=nobody --regid=nogroup --clear-groups stat "$MNT/ns1" >/dev/null 2>&1 || fail "other user sees the mount without allow_other"
  ok "no access for other users without allow_other"
fi

unmount_memfs
grep -q "flushes=[1-9]" "$DUMP/ns2.stats" || fail "no Flush reached ns2: $(cat "$DUMP/ns2.stats")"
[ "$(dd if="$DUMP/ns2.img" bs=1 skip=8192 count=8 status=none)" = "durable!" ] || fail "fsync'd data not in the device"
[ "$(dd if="$DUMP/ns2.img" bs=1 skip=20000 count=5 status=none)" = "dsync" ] || fail "O_DSYNC data not in the device"
cmp <(dd if="$DUMP/ns1.img" bs=1 skip=$((777 * 5)) count=300000 status=none) "$WORK/rand" || fail "ns1 data not in the device after unmount"
ok "unmount: clean /proc/mounts, exit 0, data and flushes reached the devices"

# ---------------------------------------------------------------------------
# Page cache mode + allow_other + umask.
mount_memfs -o kernel_cache -o allow_other -o umask=0002
[ "$(stat -c %a "$MNT/ns1")" = 664 ] || fail "umask=0002 mode"
dd if="$WORK/rand" of="$MNT/ns1" bs=4096 seek=3 conv=notrunc,fsync status=none
cmp <(dd if="$MNT/ns1" bs=4096 skip=3 count=$((300000 / 4096)) status=none) <(head -c $((300000 / 4096 * 4096)) "$WORK/rand") || fail "kernel_cache round trip"
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
  setpriv --reuid=nobody --regid=nogroup --clear-groups head -c 1 "$MNT/ns1" >/dev/null || fail "other user cannot read with allow_other"
  ! setpriv --reuid=nobody --regid=nogroup --clear-groups dd if=/dev/zero of="$MNT/ns1" bs=1 count=1 conv=notrunc status=none 2>/dev/null ||
    fail "other user could write a 0664 file"
  ok "allow_other: other users read, cannot write"
fi
unmount_memfs
ok "kernel_cache mode"

# Whole mount read-only.
mount_memfs -o ro
grep -q " $MNT fuse.nvmefs ro," /proc/mounts || fail "not mounted ro"
out=$( (echo x >"$MNT/ns1") 2>&1 || true)
[[ "$out" == *"Read-only file system"* ]] || fail "write on ro mount: '$out'"
unmount_memfs
ok "ro mount"

# SIGTERM: unmounts and exits 0.
mount_memfs
kill -TERM "$PID"
timeout 30 tail --pid="$PID" -f /dev/null || fail "no exit after SIGTERM"
wait "$PID" || fail "exit code after SIGTERM"
PID=
! grep -q " $MNT " /proc/mounts || fail "still mounted after SIGTERM"
ok "SIGTERM unmounts and exits 0"
echo "all memfs tests passed"
