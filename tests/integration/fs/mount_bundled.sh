#!/bin/bash
# The real nvmefs daemon against the bundled target over loopback: every
# cache mode, unaligned dd, ext4 on a loop device + fsck, fio verify,
# identity xattrs, df, durability through the target's backing file,
# discovery mode, and bad inputs (one line, non-zero, nothing mounted).
set -euo pipefail
BUILD=${NVMEFS_BUILD:?NVMEFS_BUILD not set}
NVMEFS=$BUILD/src/daemon/nvmefs
TARGET=$BUILD/tools/target/nvmefs-target
[ -x "$NVMEFS" ] && [ -x "$TARGET" ] || { echo "FAIL: build nvmefs and nvmefs-target first" >&2; exit 1; }
NQN=nqn.2024-01.io.nvmefs:bundled-fs
WORK=$(mktemp -d /tmp/nvmefs-bundled.XXXXXX)
MNT=$WORK/mnt
EXT=$WORK/ext4
mkdir -p "$MNT" "$EXT"
TPID= DPID= LOOP=

# daemon_of MOUNTPOINT: the PID of the nvmefs daemon serving it (empty if none).
daemon_of() {
  local p
  for p in $(pgrep -x nvmefs); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF " $1 "; then echo "$p"; return 0; fi
  done
  return 0
}
cleanup() {
  set +e
  grep -q " $EXT " /proc/mounts && umount -l "$EXT"
  [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
  grep -q " $MNT " /proc/mounts && umount -l "$MNT"
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  # a background daemon left by a failed step would hold its namespace locks
  local pid
  pid=$(daemon_of "$MNT")
  [ -n "$pid" ] && kill -9 $pid 2>/dev/null
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 20 "$l" | sed "s|^|  $(basename "$l"): |" >&2; done; exit 1; }
ok() { echo "ok - $*"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TARGET" --listen 127.0.0.1:$PORT --nqn $NQN --ns ram:64M --ns "$WORK/ns2.img:32M" >"$WORK/target.log" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$WORK/target.log" && break; sleep 0.1; done
grep -q listening "$WORK/target.log" || fail "target did not start"
URI=nvme+tcp://127.0.0.1:$PORT/$NQN

mounted() { grep -q " $MNT fuse.nvmefs " /proc/mounts; }

# Background mount: the exit code of the command tells whether it is mounted.
mount_bg() {
  "$NVMEFS" "$URI" "$MNT" "$@" 2>"$WORK/mount.err" || fail "nvmefs $* exited $?: $(cat "$WORK/mount.err")"
  mounted || fail "nvmefs exited 0 but nothing is mounted"
  [ ! -s "$WORK/mount.err" ] || fail "successful mount printed: $(cat "$WORK/mount.err")"
}
# Foreground mount (we know the PID, to wait for the final write-back).
mount_fg() {
  "$NVMEFS" "$URI" "$MNT" -f "$@" >"$WORK/daemon.log" 2>&1 &
  DPID=$!
  for _ in $(seq 100); do mounted && return 0; kill -0 $DPID 2>/dev/null || fail "daemon died"; sleep 0.1; done
  fail "not mounted"
}
unmount_fg() {
  umount "$MNT" || fail "umount"
  timeout 60 tail --pid=$DPID -f /dev/null || fail "daemon did not exit after umount"
  local rc=0; wait $DPID || rc=$?
  DPID=
  [ $rc = 0 ] || fail "daemon exit code $rc"
}
# A background daemon holds the namespace locks until its final flush is done,
# which may end after umount returns; a remount at once would wait for them,
# with a warning. So wait here for the old daemon to exit (30 s at most).
unmount_bg() {
  local pid
  pid=$(daemon_of "$MNT")
  [ -n "$pid" ] || fail "no daemon serves $MNT"
  umount "$MNT" || fail "umount"
  ! mounted || fail "still mounted"
  timeout 30 tail --pid="$pid" -f /dev/null || fail "the daemon did not exit within 30 s of umount"
}

head -c $((3 << 20)) /dev/urandom >"$WORK/rand"

# ---- every cache mode: unaligned round trip, remount, read back ----
for mode in none writethrough writeback; do
  mount_bg -o cache=$mode
  [ "$(stat -c %s "$MNT/ns1")" = $((64 << 20)) ] && [ "$(stat -c %s "$MNT/ns2")" = $((32 << 20)) ] || fail "$mode: sizes"
  dd if="$WORK/rand" of="$MNT/ns1" bs=1111 seek=3 conv=notrunc status=none
  cmp <(dd if="$MNT/ns1" bs=1M skip=3333 count=$((3 << 20)) iflag=skip_bytes,count_bytes status=none) "$WORK/rand" ||
    fail "$mode: unaligned round trip"
  unmount_bg
  mount_bg -o cache=$mode
  cmp <(dd if="$MNT/ns1" bs=1M skip=3333 count=$((3 << 20)) iflag=skip_bytes,count_bytes status=none) "$WORK/rand" ||
    fail "$mode: data lost across remount"
  dd if=/dev/zero of="$MNT/ns1" bs=1M count=4 conv=notrunc status=none
  unmount_bg
  ok "cache=$mode: unaligned dd round trip survives remount"
done

# ---- identity, df ----
mount_bg
python3 - "$MNT/ns1" "$NQN" "$PORT" <<'PY' || fail "xattrs"
import os, sys
f, nqn, port = sys.argv[1:]
x = {n: os.getxattr(f, n).decode() for n in os.listxattr(f)}
assert x["user.nvme.nsid"] == "1", x
assert x["user.nvme.subsystem_nqn"] == nqn, x
assert x["user.nvme.trsvcid"] == port and x["user.nvme.traddr"] == "127.0.0.1", x
assert x["user.nvme.capacity"] == str(64 << 20) and x["user.nvme.lba_size"] == "512", x
for k in ("model", "serial", "firmware", "cntlid", "transport"): assert x["user.nvme." + k], k
assert "user.nvme.nguid" in x or "user.nvme.eui64" in x or "user.nvme.uuid" in x, x
PY
if command -v getfattr >/dev/null; then getfattr -d -m - "$MNT/ns1" | grep -q "user.nvme.subsystem_nqn=\"$NQN\"" || fail "getfattr"; fi
[ "$(df -B1 --output=size "$MNT" | tail -1 | tr -d ' ')" = $((96 << 20)) ] || fail "df capacity"
ok "identity xattrs, df capacity"

# ---- fio verify ----
fio --name=verify --filename="$MNT/ns1" --size=16M --bs=4k --rw=randwrite --ioengine=libaio --iodepth=16 --direct=1 \
  --verify=crc32c --do_verify=1 --verify_fatal=1 --output="$WORK/fio.log" >/dev/null 2>&1 || fail "fio verify"
grep -q "err= 0" "$WORK/fio.log" || fail "fio reported errors"
ok "fio randwrite + crc32c verify (QD16, direct)"

# ---- ext4 on a loop device on a namespace file ----
LOOP=$(losetup --find --show "$MNT/ns2") || fail "losetup"
mkfs.ext4 -q -F "$LOOP" >/dev/null 2>&1 || fail "mkfs.ext4"
mount "$LOOP" "$EXT" || fail "mount ext4"
for i in 1 2 3; do cp "$WORK/rand" "$EXT/file$i"; done
sync
umount "$EXT"
e2fsck -fn "$LOOP" >"$WORK/fsck.log" 2>&1 || fail "fsck after first mount"
mount "$LOOP" "$EXT" && for i in 1 2 3; do cmp "$EXT/file$i" "$WORK/rand" || fail "ext4 file$i"; done
umount "$EXT"
losetup -d "$LOOP"; LOOP=
unmount_bg
ok "losetup + mkfs.ext4 + files + fsck"

# ---- durability: fsync'd data is in the target's backing file; writeback data after unmount ----
mount_fg -o cache=writeback
python3 -c "
import os; fd = os.open('$MNT/ns2', os.O_RDWR)
os.pwrite(fd, b'fsynced-data', 5000); os.fsync(fd)"
[ "$(dd if="$WORK/ns2.img" bs=1 skip=5000 count=12 status=none)" = fsynced-data ] || fail "fsync'd data not in the target file"
python3 -c "
import os; fd = os.open('$MNT/ns2', os.O_RDWR)
os.pwrite(fd, b'written-before-umount', 70000)"
unmount_fg
[ "$(dd if="$WORK/ns2.img" bs=1 skip=70000 count=21 status=none)" = written-before-umount ] || fail "writeback data lost at unmount"
ok "fsync reaches the target; write-back completes before the daemon exits"

# ---- discovery mode ----
"$NVMEFS" "nvme+tcp://127.0.0.1:$PORT" "$MNT" 2>"$WORK/mount.err" || fail "discovery mount: $(cat "$WORK/mount.err")"
[ -f "$MNT/$NQN/ns1" ] && [ -f "$MNT/$NQN/ns2" ] || fail "discovery tree: $(ls -R "$MNT")"
[ "$(stat -c %s "$MNT/$NQN/ns2")" = $((32 << 20)) ] || fail "discovery ns2 size"
unmount_bg
ok "discovery mode: one directory per subsystem"

# ---- bad inputs: one line, non-zero, nothing mounted ----
expect_failure() {  # CODE PATTERN ARGS...
  local code=$1 pattern=$2 rc=0; shift 2
  "$NVMEFS" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ $rc = "$code" ] || fail "nvmefs $*: exit $rc, expected $code ($(cat "$WORK/err"))"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "nvmefs $*: expected one line, got: $(cat "$WORK/err")"
  grep -q -- "$pattern" "$WORK/err" || fail "nvmefs $*: '$(cat "$WORK/err")' does not match '$pattern'"
  ! mounted || fail "nvmefs $*: left a mount"
}
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_failure 1 "unsupported URI scheme" "http://127.0.0.1/$NQN" "$MNT"
expect_failure 1 "^nvmefs: unknown option 'foo'$" "$URI" "$MNT" -o foo
expect_failure 1 "invalid value '12Q'" "$URI" "$MNT" -o cache_size=12Q
expect_failure 1 "No such file or directory" "$URI" "$WORK/missing"
expect_failure 2 "127.0.0.1" "nvme+tcp://127.0.0.1:$DEAD/$NQN" "$MNT"
expect_failure 2 "nqn.2024-01.io.nvmefs:nope" "nvme+tcp://127.0.0.1:$PORT/nqn.2024-01.io.nvmefs:nope" "$MNT"
"$NVMEFS" "$URI" "$MNT" -o _netdev,nofail,x-systemd.automount,defaults,rw 2>"$WORK/mount.err" || fail "helper options rejected"
unmount_bg
"$NVMEFS" --help | grep -q "cache_size=SIZE" || fail "--help"
"$NVMEFS" --version | grep -q "^nvmefs " || fail "--version"
ok "bad inputs fail with one line; helper options ignored; --help, --version"
echo "all bundled-target fs tests passed"
