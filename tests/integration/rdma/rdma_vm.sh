#!/bin/bash
# NVMe/RDMA initiator against the Linux kernel target over soft-RoCE (suite
# 'vm'). The host has no RDMA, so the binaries run inside the VM (nvmet-vm
# --rdma: rxe0 on eth0, nvmet RDMA port at 10.0.2.15:$PORT). Checks: connect,
# identify, discovery log, random I/O at QD 1/32/128 with read-back, write
# zeroes/deallocate/flush, nvmefs-perf --verify at several sizes and depths,
# a clear error for a port without listener, and, with the VM stopped, the
# pattern written over RDMA in the target's backing file.
set -euo pipefail
: "${NVMEFS_BUILD:?}" "${NVMET_VM:?}"
NAME=itest-rdma
PORT=4473
STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$NAME
CHECK=$NVMEFS_BUILD/tests/integration/host/initiator_check
PERF=$NVMEFS_BUILD/tools/perf/nvmefs-perf
TMP=$(mktemp -d)
cleanup() {
  "$NVMET_VM" stop --name "$NAME" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

"$NVMET_VM" start --rdma --name "$NAME" --port "$PORT" --fresh --ns 1:64M --guest-bins "$CHECK $PERF"
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
exit $failed
