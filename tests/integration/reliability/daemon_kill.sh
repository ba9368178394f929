#!/bin/bash
# The daemon is SIGKILLed in the middle of a stream of acknowledged writes,
# once per cache mode. A record counts as acknowledged when pwrite returned
# (cache=none, writethrough) or when the fsync after it returned (writeback):
# every acknowledged record must be in the target's backing file. The dead
# daemon's mount point answers ENOTCONN; mounting again on it must work (the
# daemon detaches the dead mount with a warning): each next cache mode mounts
# on the previous one's dead mount, and at the end the mount.nvmefs helper
# (background mount) does too and reads the last records back.
#   daemon_kill.sh PORT
PORT=${1:-4616}
. "$(dirname "$0")/mount_lib.sh"
RECORDS=$HERE/records.py
HELPER=$HERE/../../../tools/mount.nvmefs
[ -x "$HELPER" ] || fail "no mount.nvmefs helper at $HELPER"

start_target_on "$PORT"
killed=0
for mode in none writethrough writeback; do
  sync=none
  [ $mode = writeback ] && sync=fsync
  acks=$WORK/acks.$mode
  : >"$acks"
  : >"$WORK/daemon.log"
  mount_fg -o "cache=$mode,reconnect_delay=1"
  if [ $killed -gt 0 ]; then
    grep -q "ENOTCONN); detaching" "$WORK/daemon.log" || fail "$mode: no warning about the dead mount it replaced"
  fi
  python3 "$RECORDS" write "$MNT/ns1" "$acks" $sync >"$WORK/writer.out" 2>&1 &
  writer=$!
  want=$((200 + RANDOM % 300))
  for _ in $(seq 300); do [ "$(wc -l <"$acks")" -ge $want ] && break; sleep 0.1; done
  [ "$(wc -l <"$acks")" -ge $want ] || fail "$mode: fewer than $want records acknowledged in 30 s"
  kill -9 "$DPID"
  wait "$DPID" 2>/dev/null || true
  DPID=
  killed=$((killed + 1))
  timeout 30 tail --pid=$writer -f /dev/null || { kill $writer; fail "$mode: the writer hung after the daemon died"; }
  rc=0
  wait $writer || rc=$?
  [ $rc = 0 ] || fail "$mode: writer: $(cat "$WORK/writer.out")"
  python3 "$RECORDS" check "$DISK" "$acks" >"$WORK/check.out" || fail "$mode: $(cat "$WORK/check.out")"
  dead_mount || fail "$mode: stat of the dead mount point does not fail with ENOTCONN"
  ok "cache=$mode: killed after $(wc -l <"$acks") acknowledged records ($(cat "$WORK/writer.out")); $(cat "$WORK/check.out"); mount point answers ENOTCONN"
done

# The mount(8) helper, background daemon, on the dead mount of the last round.
PATH=$BUILD/src/daemon:$PATH "$HELPER" "$URI" "$MNT" -o cache=none 2>"$WORK/helper.err" ||
  fail "mount.nvmefs on the dead mount: $(cat "$WORK/helper.err")"
grep -q "ENOTCONN); detaching" "$WORK/helper.err" || fail "mount.nvmefs: no warning about the dead mount"
mounted || fail "mount.nvmefs exited 0 but nothing is mounted"
python3 "$RECORDS" check "$MNT/ns1" "$WORK/acks.writeback" >"$WORK/check.out" ||
  fail "read back through the new mount: $(cat "$WORK/check.out")"
pid=$(timeout 10 "$CTL" list -o json | python3 -c '
import json, sys
print(next(m["pid"] for m in json.load(sys.stdin)["mounts"] if m["mountpoint"] == sys.argv[1]))' "$MNT") ||
  fail "nvmefs-ctl list does not show $MNT"
umount "$MNT" || fail "umount"
timeout 30 tail --pid="$pid" -f /dev/null || fail "the background daemon did not exit after umount"
! grep -q " $MNT " /proc/mounts || fail "mounts left on $MNT after umount: $(grep " $MNT " /proc/mounts)"
ok "mount.nvmefs on a dead mount: detached it, records read back, clean unmount"
