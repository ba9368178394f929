#!/bin/bash
# nvmefs -o path=URI over two bundled targets exporting one backing file under
# one subsystem NQN (ports 4546, 4547): direct-I/O writes go on while target 1
# is killed, restarted, and then target 2 is killed; every write lands in the
# backing file and reads back through the mount.
#   daemon_failover.sh NVMEFS NVMEFS_TARGET
set -u
NVMEFS=${1:?usage: daemon_failover.sh NVMEFS NVMEFS_TARGET}
TARGET=${2:?usage: daemon_failover.sh NVMEFS NVMEFS_TARGET}
NQN=nqn.2024-01.io.nvmefs:itest-multipath
WORK=$(mktemp -d /tmp/nvmefs-mpd.XXXXXX)
MNT=$WORK/mnt
IMG=$WORK/img
T1= T2= DAEMON=

fail() { echo "FAIL: $*"; [ -f "$WORK/daemon.log" ] && tail -n 20 "$WORK/daemon.log"; exit 1; }
ok() { echo "ok: $*"; }
cleanup() {
  mountpoint -q "$MNT" && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
  for p in $DAEMON $T1 $T2; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
start_target() {  # PORT -> pid in $!
  "$TARGET" --listen 127.0.0.1:$1 --nqn $NQN --ns "$IMG:16M" >>"$WORK/target$1.log" 2>&1 &
}
wait_log() {  # PATTERN SECONDS
  for _ in $(seq $(($2 * 10))); do
    grep -q -- "$1" "$WORK/daemon.log" && return 0
    sleep 0.1
  done
  fail "no '$1' in the daemon log after $2 s"
}
# write_check BLOCK: writes 1 MiB of fresh data at BLOCK*64K, then checks the backing file and the mount.
write_check() {
  head -c 1M /dev/urandom >"$WORK/data"
  timeout 30 dd if="$WORK/data" of="$MNT/ns1" bs=64K seek=$1 oflag=direct conv=notrunc status=none ||
    fail "write at block $1"
  cmp <(dd if="$IMG" bs=64K skip=$1 count=16 status=none) "$WORK/data" || fail "backing file differs at block $1"
  cmp <(timeout 30 dd if="$MNT/ns1" bs=64K skip=$1 count=16 iflag=direct status=none) "$WORK/data" ||
    fail "read back differs at block $1"
}

[ -x "$NVMEFS" ] && [ -x "$TARGET" ] || fail "missing binaries"
mkdir -p "$MNT"
start_target 4546; T1=$!
start_target 4547; T2=$!
sleep 0.5
"$NVMEFS" nvme+tcp://127.0.0.1:4546/$NQN "$MNT" -f \
  -o path=nvme+tcp://127.0.0.1:4547/$NQN,iopolicy=queue-depth,cache=none,reconnect_delay=1 >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do [ -e "$MNT/ns1" ] && break; sleep 0.1; done
[ -e "$MNT/ns1" ] || fail "not mounted"
write_check 0
ok "mounted over two paths"

kill $T1; wait $T1 2>/dev/null; T1=
write_check 32
wait_log "path 0 (.*) is connecting" 5
ok "target 1 killed: I/O went on over path 1"

start_target 4546; T1=$!
wait_log "path 0 (.*) is live" 15
kill $T2; wait $T2 2>/dev/null; T2=
write_check 64
wait_log "path 1 (.*) is connecting" 5
ok "target 1 back, target 2 killed: I/O went on over path 0"

fusermount3 -u "$MNT" || fail "unmount"
wait $DAEMON || fail "daemon exit $?"
DAEMON=
ok "unmounted cleanly"
