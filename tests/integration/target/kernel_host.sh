#!/bin/bash
# The outside judge: the Linux kernel's NVMe/TCP host (in a VM, nvmet-vm
# host-run) connects to nvmefs-target, writes, flushes, reads back and checks,
# on two namespaces, without and with header/data digests. Afterwards the
# backing files must hold the host's data and the target must exit cleanly.
source "$(dirname "$0")/lib.sh"

VM="${NVMET_VM:?NVMET_VM must point at nvmet-vm}"
[[ -x "$VM" ]] || fail "$VM not executable"
NQN=nqn.2024-01.io.nvmefs:khost

run_host() {  # run_host LABEL [host-run options...]
  local label="$1"; shift
  local rc=0
  timeout 600 "$VM" host-run --target "127.0.0.1:$TARGET_PORT" --nqn $NQN --name itest-khost \
    --expect-ns 2 --timeout 500 "$@" >"$WORK/host-$label.log" 2>&1 || rc=$?
  grep -E '^(PASS|FAIL|SKIP) |^HOST-RUN' "$WORK/host-$label.log"
  [[ $rc -eq 0 ]] || fail "host-run ($label) exited with $rc"
  grep -q '^HOST-RUN PASS' "$WORK/host-$label.log" || fail "host-run ($label) did not PASS"
  grep -q '^FAIL ' "$WORK/host-$label.log" && fail "host-run ($label) has failed steps"
  for step in connect identify namespaces write-ns1 flush-ns1 read-ns1 parallel-ns1 write-ns2 read-ns2 disconnect kernel-log; do
    grep -q "^PASS $step " "$WORK/host-$label.log" || fail "host-run ($label): step $step did not PASS"
  done
}

start_target --nqn $NQN --ns "$WORK/ns1.img:64M" --ns "$WORK/ns2.img:16M"
run_host plain
run_host digests --hdr-digest --data-digest
stop_target TERM

# The workload writes 64-byte lines "nvmet-vm host-run SEED nsN off=OFFSET";
# they must be in the files, at the offsets they name.
for n in 1 2; do
  line="$(grep -a -o -m1 "nvmet-vm host-run [0-9a-f]* ns$n off=1048576 *" "$WORK/ns$n.img" | head -1)" ||
    fail "ns$n.img does not hold the host's data"
  [[ "$(dd if="$WORK/ns$n.img" bs=1 skip=1048576 count=${#line} status=none)" == "$line" ]] ||
    fail "ns$n.img: the line for offset 1048576 is not at offset 1048576"
done
echo "ok: backing files hold the host's data at the right offsets"
echo PASS
