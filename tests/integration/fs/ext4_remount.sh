#!/bin/bash
# A real file system on a namespace file: losetup + mkfs.ext4 + a tree of
# 200 files of random sizes (up to 1 MiB) (sha256 recorded), umount ext4, losetup -d,
# unmount nvmefs (the daemon exits after its final write-back), then a new
# daemon, the ext4 again: e2fsck -fn clean, every checksum intact.
# Once with cache=writethrough and once with cache=writeback (small cache).
. "$(dirname "$0")/e2e_lib.sh"

start_target nqn.2024-01.io.nvmefs:e2e-ext4 --ns "$WORK/ns1.img:256M"
for opts in cache=writethrough cache=writeback,cache_size=16M,dirty_max=8M,dirty_expire=60; do
  mount_fg -o "$opts"
  ext4_attach "$MNT/ns1"
  mkfs.ext4 -q -F "$LOOP" >"$WORK/mkfs.log" 2>&1 || fail "$opts: mkfs.ext4"
  mount "$LOOP" "$EXT" || fail "$opts: mount ext4"
  make_tree "$EXT" 200 $((1 << 20))
  ext4_detach
  unmount_fg

  mount_fg -o "$opts"
  ext4_attach "$MNT/ns1"
  e2fsck -fn "$LOOP" >"$WORK/fsck.log" 2>&1 || fail "$opts: e2fsck -fn after remount: $(tail -n 5 "$WORK/fsck.log")"
  mount -o ro "$LOOP" "$EXT" || fail "$opts: mount ext4 after remount"
  check_tree "$EXT"
  ext4_detach
  unmount_fg
  ok "$opts: ext4 with 200 files survives umount + new daemon (fsck clean, checksums intact)"
done
echo "all ext4 remount runs passed"
