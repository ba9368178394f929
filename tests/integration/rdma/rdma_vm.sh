#!/bin/bash
# NVMe/RDMA initiator against the Linux kernel target over soft-RoCE (suite
# 'vm'). The host has no RDMA, so the binaries run inside the VM (nvmet-vm
# --rdma: rxe0 on eth0, nvmet RDMA port at 10.0.2.15:$PORT). Checks: connect,
# identify, discovery log, random I/O at QD 1/32/128 with read-back, write
# zeroes/deallocate/flush, nvmefs-perf --verify at several sizes and depths,
# a clear error for a port without listener, the nvmefs daemon mounting the
# namespace over RDMA (FUSE in the guest: dd at an odd offset, fsync, read
# back after dropping the cache, umount), and, with the VM stopped, both
# patterns written over RDMA in the target's backing file.
set -euo pipefail
: "${NVMEFS_BUILD:?}" "${NVMET_VM:?}"
NAME=itest-rdma
PORT=4473
STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$NAME
CHECK=$NVMEFS_BUILD/tests/integration/host/initiator_check
PERF=$NVMEFS_BUILD/tools/perf/nvmefs-perf
DAEMON=$NVMEFS_BUILD/src/daemon/nvmefs
CTL=$NVMEFS_BUILD/tools/ctl/nvmefs-ctl
TMP=$(mktemp -d)
cleanup() {
  "$NVMET_VM" stop --name "$NAME" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# The pattern the daemon writes: 512 blocks of 4097 bytes (2 MiB + 512) of
# random data, at an odd byte offset (no multiple of the LBA size).
MOUNT_BS=4097
MOUNT_COUNT=512
head -c $((MOUNT_BS * MOUNT_COUNT)) /dev/urandom >"$TMP/mount-pattern"
GUEST_PATTERN=/usr/local/bin/nvmefs-mount-pattern
"$NVMET_VM" start --rdma --name "$NAME" --port "$PORT" --fresh --ns 1:64M \
  --guest-bins "$CHECK $PERF $DAEMON $CTL /usr/bin/fusermount3 $TMP/mount-pattern=$GUEST_PATTERN"
vm() { NVMET_VM_CTL_TIMEOUT=60 "$NVMET_VM" ctl --name "$NAME" "$@"; }

failed=0
step() {  # step NAME CMD: runs CMD in the guest, its exit code decides
  local what=$1
  shift
  if vm "$@" >"$TMP/out" 2>&1; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failed=1
  fi
  sed 's/^/     /' "$TMP/out"
}

step "connect, identify, discovery, random I/O, write zeroes, flush, pattern" \
  "initiator_check --transport rdma --traddr 10.0.2.15 --trsvcid $PORT --nqn \$NQN --ns-size 64M --model Linux --total 2M --pattern-out /tmp/pattern"
offset=$(awk '/pattern-offset/ {print $NF}' "$TMP/out")

for spec in "4K 1 randrw" "4K 32 randrw" "16K 16 randwrite" "64K 8 randrw" "1M 4 randrw" "128K 64 randread"; do
  set -- $spec
  step "nvmefs-perf --verify --bs $1 --qd $2 --rw $3" \
    "nvmefs-perf --verify --time 0 --bs $1 --qd $2 --rw $3 --size 4M --seed 7 nvme+rdma://10.0.2.15:$PORT/\$NQN"
done

# ---- the nvmefs daemon over RDMA: mount, dd at an odd offset, read back ----
# Blocks of 4097 bytes from block 10001 (odd byte offset ~39 MiB) on, or from block 2049
# (~8 MiB, above nvmefs-perf's 4 MiB) when initiator_check's pattern is there.
MOUNT_SEEK=10001
if [ -n "$offset" ] && [ "$offset" -lt $(((MOUNT_SEEK + MOUNT_COUNT) * MOUNT_BS)) ] &&
  [ $((offset + (1 << 20))) -gt $((MOUNT_SEEK * MOUNT_BS)) ]; then
  MOUNT_SEEK=2049
fi
mount_offset=$((MOUNT_SEEK * MOUNT_BS))
# A busybox loop until COND holds, at most N s; on timeout it prints the daemon's log.
wait_for() { echo "i=0; until $1; do i=\$((i+1)); [ \$i -gt $2 ] && { cat /tmp/nvmefs.log; exit 1; }; sleep 1; done"; }
mounted="grep -q ' /tmp/mnt fuse' /proc/mounts"
step "nvmefs mounts nvme+rdma://10.0.2.15:$PORT/NQN on /tmp/mnt" \
  "mkdir -p /tmp/mnt && { nvmefs nvme+rdma://10.0.2.15:$PORT/\$NQN /tmp/mnt -f -o cache=writeback >/tmp/nvmefs.log 2>&1 & } && \
   $(wait_for "$mounted" 40) && ls -l /tmp/mnt && [ \$(stat -c %s /tmp/mnt/ns1) = $((64 << 20)) ] && nvmefs-ctl list"
step "dd $((MOUNT_BS * MOUNT_COUNT)) bytes at offset $mount_offset, conv=fsync" \
  "dd if=$GUEST_PATTERN of=/tmp/mnt/ns1 bs=$MOUNT_BS seek=$MOUNT_SEEK count=$MOUNT_COUNT conv=notrunc,fsync"
step "drop the cache, read back, cmp" \
  "nvmefs-ctl drop-cache /tmp/mnt && dd if=/tmp/mnt/ns1 of=/tmp/readback bs=$MOUNT_BS skip=$MOUNT_SEEK count=$MOUNT_COUNT && \
   cmp /tmp/readback $GUEST_PATTERN && nvmefs-ctl stats /tmp/mnt"
step "umount; the daemon exits" \
  "umount /tmp/mnt && $(wait_for "! pidof nvmefs >/dev/null" 30) && ! $mounted && cat /tmp/nvmefs.log"

# A port nobody listens on: the CM rejects with "invalid service ID".
vm "initiator_check --transport rdma --traddr 10.0.2.15 --trsvcid 4999 --nqn \$NQN" >"$TMP/out" 2>&1 || true
if grep -q "no NVMe/RDMA listener" "$TMP/out"; then
  echo "ok   closed port: $(grep FAIL "$TMP/out")"
else
  echo "FAIL closed port gives no clear error:"; cat "$TMP/out"; failed=1
fi

"$NVMET_VM" stop --name "$NAME"
if [ -z "$offset" ]; then
  echo "FAIL no pattern offset reported"
  exit 1
fi
# The pattern initiator_check writes (write_pattern): byte i = ((i*7+13) ^ (i>>9)) & 0xFF.
python3 - "$STATE/ns1.img" "$offset" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
want = bytes(((i * 7 + 13) ^ (i >> 9)) & 0xFF for i in range(1 << 20))
with open(path, 'rb') as f:
    f.seek(off)
    got = f.read(len(want))
if got != want:
    print(f"FAIL backing file differs from the pattern at offset {off}")
    sys.exit(1)
print(f"ok   backing file holds the 1 MiB pattern written over RDMA at offset {off}")
PY
if cmp -s -i "$mount_offset:0" -n $((MOUNT_BS * MOUNT_COUNT)) "$STATE/ns1.img" "$TMP/mount-pattern"; then
  echo "ok   backing file holds the pattern written through the nvmefs mount at offset $mount_offset"
else
  echo "FAIL backing file differs from the pattern written through the nvmefs mount at offset $mount_offset"
  failed=1
fi
exit $failed
