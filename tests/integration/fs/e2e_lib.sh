# Sourced by the end-to-end scripts (exerciser.sh, fio_verify.sh,
# ext4_remount.sh, writeback_durability.sh, ../e2e_vm/*.sh): a work
# directory, a bundled target on a free port, a foreground daemon whose exit
# is awaited (so its final write-back is done), ext4 on a loop device, and one
# cleanup trap for all of it (ext4, loop, mount, daemon, target, work dir).
set -euo pipefail
BUILD=${NVMEFS_BUILD:?NVMEFS_BUILD not set}
NVMEFS=$BUILD/src/daemon/nvmefs
TARGET=$BUILD/tools/target/nvmefs-target
CTL=$BUILD/tools/ctl/nvmefs-ctl
[ -x "$NVMEFS" ] && [ -x "$TARGET" ] || { echo "FAIL: build nvmefs and nvmefs-target first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (losetup, mount, /run/nvmefs)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/nvmefs-e2e.XXXXXX)
MNT=$WORK/mnt
EXT=$WORK/ext4
mkdir -p "$MNT" "$EXT"
TPID= DPID= LOOP= URI=
EXTRA_CLEANUP=:   # a script's own cleanup command (e.g. stop a VM)

cleanup() {
  set +e
  grep -q " $EXT " /proc/mounts && umount -l "$EXT"
  [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
  grep -q " $MNT " /proc/mounts && umount -l "$MNT"
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && timeout 30 tail --pid="$DPID" -f /dev/null
  [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
  eval "$EXTRA_CLEANUP"
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 15 "$l" | sed "s|^|  $(basename "$l"): |" >&2; done
  exit 1
}
ok() { echo "ok - $* (${SECONDS}s)"; }

# start_target NQN --ns SPEC...: the bundled target on a free port; sets URI.
start_target() {
  local nqn=$1; shift
  : >"$WORK/target.log"  # emptied before the background start: the wait below must not read an old line
  "$TARGET" --listen 127.0.0.1:0 --nqn "$nqn" "$@" >"$WORK/target.log" 2>&1 &
  TPID=$!
  for _ in $(seq 50); do grep -q listening "$WORK/target.log" && break; sleep 0.1; done
  local port
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/target.log" | cut -d: -f2)
  [ -n "$port" ] || fail "target did not start"
  URI=nvme+tcp://127.0.0.1:$port/$nqn
}

mounted() { grep -q " $MNT fuse.nvmefs " /proc/mounts; }

# mount_fg [-o OPTS]: the daemon in the foreground (its PID in DPID), logging to daemon.log.
mount_fg() {
  "$NVMEFS" "$URI" "$MNT" -f "$@" >>"$WORK/daemon.log" 2>&1 &
  DPID=$!
  for _ in $(seq 300); do mounted && return 0; kill -0 "$DPID" 2>/dev/null || fail "daemon died"; sleep 0.1; done
  fail "not mounted after 30 s"
}

# unmount_fg: umount, then wait for the daemon's final write-back and exit 0.
unmount_fg() {
  umount "$MNT" || fail "umount $MNT"
  timeout 60 tail --pid="$DPID" -f /dev/null || fail "daemon did not exit within 60 s of umount"
  local rc=0
  wait "$DPID" || rc=$?
  DPID=
  [ $rc = 0 ] || fail "daemon exit code $rc"
}

# ext4_attach FILE: loop device on FILE (LOOP).  ext4_detach: umount ext4 (if mounted), losetup -d.
ext4_attach() { LOOP=$(losetup --find --show "$1") || fail "losetup $1"; }
ext4_detach() {
  if grep -q " $EXT " /proc/mounts; then umount "$EXT" || fail "umount ext4"; fi
  losetup -d "$LOOP" || fail "losetup -d $LOOP"
  LOOP=
}

# make_tree DIR COUNT [MAXSIZE]: COUNT files of random sizes (0 .. MAXSIZE,
# default 3 MiB; every fifth one < 5000 bytes) in nested directories; their
# sha256 sums go to $WORK/tree.sha256.
make_tree() {
  local dir=$1 count=$2 max=${3:-$((3 << 20))} i size
  for i in $(seq "$count"); do
    mkdir -p "$dir/d$((i % 7))/e$((i % 3))"
    size=$(( (RANDOM * 32768 + RANDOM) % max ))
    [ $((i % 5)) = 0 ] && size=$((RANDOM % 5000))
    head -c "$size" /dev/urandom >"$dir/d$((i % 7))/e$((i % 3))/f$i"
  done
  (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/tree.sha256"
  [ "$(wc -l <"$WORK/tree.sha256")" = "$count" ] || fail "make_tree: expected $count files"
}
check_tree() { (cd "$1" && sha256sum --quiet -c "$WORK/tree.sha256") || fail "checksums differ under $1"; }
