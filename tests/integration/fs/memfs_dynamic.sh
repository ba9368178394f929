#!/bin/bash
# The live tree of the FUSE layer (FuseMount::add_file/remove/size_changed)
# over in-memory devices: memfs_mount -o commands=FIFO applies
# "add PATH SIZE", "remove PATH", "resize PATH SIZE" while mounted.
# Checks: added files and directories appear, removed ones answer ENOENT at
# once, a handle held on a removed file gets EIO (read, write, fsync, close
# of a writer), a new size is visible to stat within a bound; then a churn
# of adds/removes/resizes against concurrent ls/stat/read loops; finally a
# session aborted with a file still open (its handle is freed at destroy).
#   memfs_dynamic.sh PATH/TO/memfs_mount
set -euo pipefail
MEMFS=${1:?usage: memfs_dynamic.sh PATH/TO/memfs_mount}
WORK=$(mktemp -d /tmp/nvmefs-memfs-dyn.XXXXXX)
MNT=$WORK/mnt
DUMP=$WORK/dump
CMD=$WORK/cmd
mkdir -p "$MNT" "$DUMP"
mkfifo "$CMD"
PID=
BG=()
FUSECTL=  # set when this test mounted fusectl (unmounted again on exit)
DEADLINE=$((SECONDS + 55))  # the whole test, including the churn

cleanup() {
  touch "$WORK/stop" 2>/dev/null || true
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  if grep -q " $MNT " /proc/mounts; then umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null || true; fi
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$FUSECTL" ] || umount "$FUSECTL" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$WORK/log" ] && tail -30 "$WORK/log" | sed 's/^/  memfs: /' >&2; exit 1; }
ok() { echo "ok - $*"; }
in_time() { [ "$SECONDS" -lt "$DEADLINE" ] || fail "over the time budget"; }

mount_memfs() {
  : >"$CMD.ack"
  "$MEMFS" "$MNT" "$DUMP" -o commands="$CMD" >"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    grep -q " $MNT fuse.nvmefs " /proc/mounts && return 0
    kill -0 "$PID" 2>/dev/null || fail "memfs_mount exited before mounting"
    sleep 0.1
  done
  fail "not mounted after 10 s"
}

# cmd LINE [error]: sends one command and waits for its acknowledgement
# (appended to $CMD.ack once the tree changed and the kernel was told).
cmd() {
  local n
  n=$(wc -l <"$CMD.ack")
  echo "$1" >"$CMD"
  for _ in $(seq 500); do
    [ "$(wc -l <"$CMD.ack")" -gt "$n" ] && break
    sleep 0.01
  done
  local ack
  ack=$(sed -n "$((n + 1))p" "$CMD.ack")
  [ -n "$ack" ] || fail "no acknowledgement of '$1' after 5 s"
  if [ "${2:-}" = error ]; then [[ "$ack" == error* ]] || fail "'$1' should fail: $ack"
  else [[ "$ack" == ok* ]] || fail "'$1': $ack"; fi
}

errno_of() {  # python expression -> errno name it raises, or "none"
  python3 -c "
import errno, os
try:
    $1
    print('none')
except OSError as e:
    print(errno.errorcode[e.errno])"
}

# ---------------------------------------------------------------------------
mount_memfs

# Added files and nested directories appear; names are checked.
ls "$MNT" >/dev/null  # the kernel caches the root listing before the change
cmd "add x1 1048576"
[ "$(stat -c %s "$MNT/x1")" = 1048576 ] || fail "x1 size"
[ "$(ls "$MNT" | tr '\n' ' ')" = "ns1 ns2 sub x1 " ] || fail "listing after add: $(ls "$MNT")"
cmd "add nqn.a/deep/y1 65536"
[ "$(ls "$MNT/nqn.a/deep")" = y1 ] || fail "nested add"
cmd "add nqn.a/deep/y2 4096"
[ "$(ls "$MNT/nqn.a/deep" | tr '\n' ' ')" = "y1 y2 " ] || fail "second nested add (cached listing not dropped?)"
cmd "add x1 4096" error
cmd "add sub/ns3 4096" error
cmd "add bad..name/../z 4096" error
cmd "remove nope" error
head -c 1048576 /dev/urandom >"$WORK/rand"
dd if="$WORK/rand" of="$MNT/x1" bs=64K conv=notrunc status=none || fail "write x1"
cmp "$MNT/x1" "$WORK/rand" || fail "x1 round trip"
ok "add: files, nested directories, duplicates/invalid names refused, data round trip"

# Resize: the new size is visible to stat (cached attributes dropped), data kept.
stat "$MNT/x1" >/dev/null
cmd "resize x1 4194304"
[ "$(stat -c %s "$MNT/x1")" = 4194304 ] || fail "grown size not visible: $(stat -c %s "$MNT/x1")"
cmp <(head -c 1048576 "$MNT/x1") "$WORK/rand" || fail "data lost by growing"
[ "$(tail -c 4096 "$MNT/x1" | tr -d '\0' | wc -c)" = 0 ] || fail "grown part not zero"
cmd "resize x1 8192"
[ "$(stat -c %s "$MNT/x1")" = 8192 ] || fail "shrunk size not visible"
[ "$(wc -c <"$MNT/x1")" = 8192 ] || fail "read past the shrunk size"
cmd "resize ns1 4096" error  # only files added by "add" (their device can resize)
ok "resize: stat shows the new size at once (grow and shrink), data kept"

# Remove: the name is gone at once, even where the kernel had it cached.
stat "$MNT/nqn.a/deep/y1" >/dev/null
cmd "remove nqn.a/deep/y1"
[ "$(errno_of "os.stat('$MNT/nqn.a/deep/y1')")" = ENOENT ] || fail "removed file still resolves"
[ "$(ls "$MNT/nqn.a/deep")" = y2 ] || fail "listing after remove: $(ls "$MNT/nqn.a/deep")"
cmd "remove nqn.a"  # recursively
[ "$(errno_of "os.stat('$MNT/nqn.a')")" = ENOENT ] || fail "removed directory still resolves"
[ "$(ls "$MNT" | tr '\n' ' ')" = "ns1 ns2 sub x1 " ] || fail "listing after removing a directory: $(ls "$MNT")"
cmd "add nqn.a/y1 4096"  # the same names come back as new inodes
[ "$(stat -c %s "$MNT/nqn.a/y1")" = 4096 ] || fail "re-added file"
ok "remove: file and directory gone at once (stat ENOENT, listing), names reusable"

# A handle held on a removed file: reads, writes, fsync fail with EIO, fstat
# still answers, the path is ENOENT, a writer's close reports EIO.
cmd "add held 1048576"
python3 - "$MNT/held" "$CMD" <<'PY' || fail "held-open removed file"
import errno, os, sys, time
path, fifo = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
ro = os.open(path, os.O_RDONLY)
os.pwrite(fd, b"before", 0)
assert os.pread(ro, 6, 0) == b"before"
acks = sum(1 for _ in open(fifo + ".ack"))
with open(fifo, "w") as f:
    f.write("remove held\n")
deadline = time.time() + 5
while sum(1 for _ in open(fifo + ".ack")) == acks:
    assert time.time() < deadline, "no ack"
    time.sleep(0.01)
def expect(call, code):
    try:
        call()
    except OSError as e:
        assert e.errno == code, (call, e)
        return
    raise AssertionError(f"{call} did not fail")
expect(lambda: os.pread(ro, 4096, 0), errno.EIO)
expect(lambda: os.pread(fd, 4096, 0), errno.EIO)
expect(lambda: os.pwrite(fd, b"after", 0), errno.EIO)
expect(lambda: os.fsync(fd), errno.EIO)
expect(lambda: os.stat(path), errno.ENOENT)
st = os.fstat(fd)
assert st.st_nlink == 0, st
os.close(ro)  # a reader's close is fine
expect(lambda: os.close(fd), errno.EIO)  # close-to-open: the writer learns its data may be lost
PY
ok "held-open removed file: EIO on read/write/fsync and writer close, stat ENOENT, fstat nlink 0"

# ---------------------------------------------------------------------------
# Churn: adds, removes and resizes while readers list, stat and read, and
# one process keeps re-opening a file that comes and goes.
reader() {  # $1: id; counts successful operations into $WORK/reader.$1
  local n=0
  while [ ! -e "$WORK/stop" ]; do
    ls -la "$MNT" "$MNT"/c* "$MNT"/d* >/dev/null 2>&1 || true
    for f in "$MNT"/c* "$MNT"/d*/*; do
      stat -c %s "$f" >/dev/null 2>&1 && n=$((n + 1))
      head -c 8192 "$f" >/dev/null 2>&1 && n=$((n + 1))
    done
  done
  echo "$n" >"$WORK/reader.$1"
}
for i in 1 2 3; do reader "$i" & BG+=($!); done
python3 - "$MNT" "$WORK/stop" <<'PY' >"$WORK/holder.out" 2>&1 & BG+=($!)
import errno, os, sys, time
mnt, stop = sys.argv[1], sys.argv[2]
opens = eios = 0
while not os.path.exists(stop):
    try:
        fd = os.open(mnt + "/c1", os.O_RDONLY)
    except OSError as e:
        assert e.errno == errno.ENOENT, e
        time.sleep(0.01)
        continue
    opens += 1
    try:
        while True:
            os.pread(fd, 4096, 0)
            time.sleep(0.002)
            if os.path.exists(stop):
                break
    except OSError as e:
        assert e.errno == errno.EIO, e  # removed under us: EIO, nothing else
        eios += 1
    os.close(fd)
print(f"opens={opens} eios={eios}")
PY

churn_start=$SECONDS
max_ms=0
rounds=0
declare -A present=()  # c<k> -> 1 while added
declare -A dirs=()     # d<k> -> 1 while it has files
while [ $((SECONDS - churn_start)) -lt 15 ]; do
  in_time
  r=$rounds
  c=c$((r % 4))
  if [ -n "${present[$c]:-}" ]; then
    # Resize, and time until stat shows it (the kernel was told before the ack).
    new=$(((r % 5 + 2) * 131072))
    t0=$(date +%s%N)
    cmd "resize $c $new"
    got=$(stat -c %s "$MNT/$c")
    [ "$got" = "$new" ] || fail "round $r: size of $c after resize $got, expected $new"
    ms=$((($(date +%s%N) - t0) / 1000000)); [ "$ms" -gt "$max_ms" ] && max_ms=$ms
  else
    cmd "add $c $(((r % 7 + 1) * 65536))"
    present[$c]=1
  fi
  cmd "add d$((r % 3))/f$r 4096"
  dirs[d$((r % 3))]=1
  gone=c$(((r + 2) % 4))
  if [ $((r % 2)) = 1 ] && [ -n "${present[$gone]:-}" ]; then
    cmd "remove $gone"
    unset "present[$gone]"
    [ "$(errno_of "os.stat('$MNT/$gone')")" = ENOENT ] || fail "round $r: removed $gone still resolves"
  fi
  if [ $((r % 5)) = 4 ]; then
    cmd "remove d$((r % 3))"
    unset "dirs[d$((r % 3))]"
    [ "$(errno_of "os.stat('$MNT/d$((r % 3))')")" = ENOENT ] || fail "round $r: removed directory resolves"
  fi
  rounds=$((rounds + 1))
done
touch "$WORK/stop"
for p in "${BG[@]}"; do wait "$p" || fail "a reader/holder failed: $(cat "$WORK/holder.out")"; done
BG=()
reads=$(cat "$WORK"/reader.* | paste -sd+ | bc)
[ "$rounds" -ge 10 ] || fail "only $rounds churn rounds"
[ "$reads" -gt 0 ] || fail "readers never succeeded"
grep -q "opens=[1-9]" "$WORK/holder.out" || fail "holder never opened c1: $(cat "$WORK/holder.out")"
grep -q "eios=[1-9]" "$WORK/holder.out" || fail "holder never saw its file removed: $(cat "$WORK/holder.out")"
kill -0 "$PID" || fail "memfs_mount died during the churn"
# The tree is exactly what the commands left: no stale or missing names.
expect=$(printf '%s\n' ns1 ns2 sub x1 nqn.a "${!present[@]}" "${!dirs[@]}" | sort | tr '\n' ' ')
[ "$(ls "$MNT" | sort | tr '\n' ' ')" = "$expect" ] || fail "root listing '$(ls "$MNT" | tr '\n' ' ')', expected '$expect'"
for c in "${!present[@]}"; do
  [ "$(stat -c %s "$MNT/$c")" -gt 0 ] || fail "$c size"
  head -c 4096 "$MNT/$c" >/dev/null || fail "read $c after churn"
done
ok "churn: $rounds rounds in $((SECONDS - churn_start)) s, $reads reader operations, holder $(cat "$WORK/holder.out"), resize visible to stat in <= ${max_ms} ms"

# ---------------------------------------------------------------------------
# Session aborted with a file still open: no release ever comes, the handle
# is freed in the destroy path (LeakSanitizer checks in sanitizer builds).
exec 7<"$MNT/x1"
conns=/sys/fs/fuse/connections
if [ ! -d "$conns/$(stat -c %Ld "$MNT")" ] && mount -t fusectl fusectl "$conns"; then FUSECTL=$conns; fi
conn=$conns/$(stat -c %Ld "$MNT")  # named by the device minor
[ -w "$conn/abort" ] || fail "no fuse control file $conn/abort (fusectl)"
echo 1 >"$conn/abort"
timeout 30 tail --pid="$PID" -f /dev/null || fail "memfs_mount did not exit after abort"
rc=0; wait "$PID" || rc=$?
PID=
exec 7<&-
[ "$rc" = 0 ] || fail "memfs_mount exit code $rc after abort with an open file"
grep -q "1 open file(s) closed at session end" "$WORK/log" || fail "the open handle was not closed at destroy"
umount -l "$MNT" 2>/dev/null || true
! grep -q " $MNT " /proc/mounts || fail "still mounted"
ok "session aborted with a file open: exit 0 (handle freed at destroy)"
echo "all memfs dynamic tests passed in $SECONDS s"
