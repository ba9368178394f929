#!/bin/bash
# The initiator against the Linux kernel NVMe/TCP target in a VM (suite 'vm'):
# connect/identify/discovery/random I/O/negative cases with digests off and on,
# then, with the VM stopped, the pattern written at the end of the namespace
# must be in the VM's backing file at the same offset.
set -euo pipefail
: "${NVMEFS_BUILD:?}" "${NVMET_VM:?}"
NAME=itest-host
PORT=4471
SERIAL=nvmefs-itest-host
NQN=nqn.2014-08.org.nvmexpress:nvmet-vm:$NAME
STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$NAME
CHECK=$NVMEFS_BUILD/tests/integration/host/initiator_check
TMP=$(mktemp -d)
cleanup() {
  "$NVMET_VM" stop --name "$NAME" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

"$NVMET_VM" start --name "$NAME" --port "$PORT" --fresh --serial "$SERIAL" --ns 1:64M
common=(--traddr 127.0.0.1 --trsvcid "$PORT" --nqn "$NQN" --serial "$SERIAL" --model Linux --ns-size 64M)
timeout 300 "$CHECK" "${common[@]}" --negative
timeout 300 "$CHECK" "${common[@]}" --digests --pattern-out "$TMP/pattern" | tee "$TMP/out"
offset=$(awk '/^pattern-offset/ {print $2}' "$TMP/out")
"$NVMET_VM" stop --name "$NAME"

size=$(stat -c %s "$TMP/pattern")
if cmp -n "$size" -i "$offset:0" "$STATE/ns1.img" "$TMP/pattern"; then
  echo "ok   backing file holds the pattern at offset $offset"
else
  echo "FAIL backing file $STATE/ns1.img differs from the pattern at offset $offset"
  exit 1
fi
