# Sourced by the VM reliability scripts (faults.sh, gone.sh): one nvmet VM
# (../shared/nvmet-vm), one foreground nvmefs daemon mounting it, background
# workloads in their own process groups, a sampling monitor, and one cleanup
# trap that ends all of it (workloads, mount, daemon, monitor; the VM is
# thawed before it is stopped) on every exit.
set -uo pipefail
BUILD=${NVMEFS_BUILD:?NVMEFS_BUILD not set}
SRC=${NVMEFS_SRC:?NVMEFS_SRC not set}
VM=${NVMET_VM:?NVMET_VM not set}
NVMEFS=$BUILD/src/daemon/nvmefs
CTL=$BUILD/tools/ctl/nvmefs-ctl
HERE=$SRC/tests/integration/reliability_vm
for exe in "$NVMEFS" "$CTL" "$VM"; do [ -x "$exe" ] || { echo "FAIL: $exe is missing" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (FUSE mounts, the VM's port forwarding)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed" >&2; exit 1; }

WORK=$(mktemp -d /tmp/nvmefs-vmrel.XXXXXX)
MNT=$WORK/mnt
mkdir -p "$MNT"
VM_NAME= VM_PORT= VM_ARGS=() VM_FROZEN=0
DPID= MONPID= URI=
BG_PGIDS=()   # background workloads, each a process group of its own (setsid)
TIMELINE=$WORK/timeline   # monitor.py samples: ms state reconnects net_ops net_errors file_errors

now_ms() { date +%s%3N; }
# pause SECONDS: a sleep that a trapped SIGTERM/SIGINT interrupts at once.
pause() { sleep "$1" & wait $!; }

stop_workloads() {
  local g
  for g in "${BG_PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
  BG_PGIDS=()
}

cleanup() {
  set +e
  stop_workloads
  [ -n "$MONPID" ] && kill "$MONPID" 2>/dev/null
  # A thawed target lets the daemon finish what is in flight and exit.
  [ -n "$VM_NAME" ] && [ "$VM_FROZEN" = 1 ] && timeout 10 "$VM" thaw --name "$VM_NAME" >/dev/null 2>&1
  grep -q " $MNT " /proc/mounts && umount -l "$MNT"
  if [ -n "$DPID" ]; then
    # Commands parked for a target that is gone (ctrl_loss_tmo=-1) keep killed
    # processes' AIO, and so their files, open: the daemon then waits forever.
    kill "$DPID" 2>/dev/null && timeout 15 tail --pid="$DPID" -f /dev/null
    kill -9 "$DPID" 2>/dev/null
  fi
  [ -n "$VM_NAME" ] && timeout 30 "$VM" stop --name "$VM_NAME" >/dev/null 2>&1
  wait 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  local l
  for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 12 "$l" | sed "s|^|  $(basename "$l"): |" >&2; done
  [ -n "$VM_NAME" ] && timeout 5 "$VM" log --name "$VM_NAME" 2>/dev/null | grep -a nvmet | tail -n 8 | sed 's|^|  guest: |' >&2
  exit 1
}
ok() { echo "ok - $* (${SECONDS}s)"; }

# vm_init NAME PORT START-ARGS...: remembers how to (re)start the VM; the
# namespaces' backing files persist across vm_start/vm_stop.
vm_init() {
  VM_NAME=$1 VM_PORT=$2
  shift 2
  VM_ARGS=("$@")
  VM_STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$VM_NAME
  # A VM of this name left over by a killed run would hold the port.
  if "$VM" status --name "$VM_NAME" >/dev/null 2>&1; then
    timeout 10 "$VM" thaw --name "$VM_NAME" >/dev/null 2>&1
    timeout 30 "$VM" stop --name "$VM_NAME" >>"$WORK/vm.log" 2>&1 || fail "cannot stop the leftover VM $VM_NAME"
  fi
}
# vm_start [--fresh]: returns once the guest printed READY. One CPU: under
# TCG a 2-CPU guest now and then dies early in boot (an Oops on an int3 left by
# kernel text patching); this test boots the VM 11 times. ($VM, the tests'
# nvmet-vm wrapper, boots again a guest that died that way.)
vm_start() {
  timeout 450 "$VM" start --name "$VM_NAME" --port "$VM_PORT" --serial "nvmefs-$VM_NAME" --cpus 1 "${VM_ARGS[@]}" "$@" \
    >>"$WORK/vm.log" 2>&1 || fail "nvmet-vm start $VM_NAME"
  URI=nvme+tcp://127.0.0.1:$VM_PORT/$(sed -n 's/^nqn=//p' "$VM_STATE/info")
}
vm_stop() { timeout 30 "$VM" stop --name "$VM_NAME" >>"$WORK/vm.log" 2>&1 || fail "nvmet-vm stop"; VM_FROZEN=0; }
vm_freeze() { VM_FROZEN=1; timeout 10 "$VM" freeze --name "$VM_NAME" >>"$WORK/vm.log" 2>&1 || fail "nvmet-vm freeze"; }
vm_thaw() { timeout 10 "$VM" thaw --name "$VM_NAME" >>"$WORK/vm.log" 2>&1 || fail "nvmet-vm thaw"; VM_FROZEN=0; }
vm_ctl() { timeout 70 "$VM" ctl --name "$VM_NAME" "$@" >>"$WORK/vm.log" 2>&1 || fail "nvmet-vm ctl $*"; }

mounted() { grep -q " $MNT fuse.nvmefs " /proc/mounts; }
# mount_daemon OPTS: the daemon in the foreground (DPID), logging to daemon.log.
mount_daemon() {
  "$NVMEFS" "$URI" "$MNT" -f -o "$1" >>"$WORK/daemon.log" 2>&1 &
  DPID=$!
  local _
  for _ in $(seq 600); do mounted && return 0; kill -0 "$DPID" 2>/dev/null || fail "daemon died"; sleep 0.1; done
  fail "not mounted after 60 s"
}
# unmount_daemon: umount, then the daemon must exit 0 (its final flush done).
unmount_daemon() {
  umount "$MNT" || fail "umount $MNT"
  timeout 60 tail --pid="$DPID" -f /dev/null || fail "daemon did not exit within 60 s of umount"
  local rc=0
  wait "$DPID" || rc=$?
  DPID=
  [ $rc = 0 ] || fail "daemon exit code $rc"
}

# start_monitor: samples the mount's stats every 100 ms into $TIMELINE.
start_monitor() {
  python3 "$HERE/monitor.py" "$CTL" "$MNT" "$TIMELINE" 0.1 2>>"$WORK/monitor.log" &
  MONPID=$!
  local _
  for _ in $(seq 100); do [ -s "$TIMELINE" ] && break; sleep 0.1; done
  wait_sample 10 '$2 != "noanswer"' >/dev/null || fail "the daemon does not answer nvmefs-ctl stats"
}
stop_monitor() { [ -n "$MONPID" ] && kill "$MONPID" 2>/dev/null; wait "$MONPID" 2>/dev/null; MONPID=; }
# last_sample: the newest timeline line.
last_sample() { tail -n 1 "$TIMELINE"; }
# field N of the newest sample (1 ms, 2 state, 3 reconnects, 4 net_ops, 5 net_errors, 6 file_errors).
sample_field() { last_sample | awk -v f="$1" '{print $f}'; }

# wait_sample TIMEOUT_S AWK-CONDITION: until the newest sample satisfies the
# condition ($2 state, $4 net_ops, ...); prints it. Returns 1 on timeout.
wait_sample() {
  local deadline=$(($(now_ms) + $1 * 1000)) line
  while [ "$(now_ms)" -lt $deadline ]; do
    line=$(last_sample)
    if echo "$line" | awk "{ exit !($2) }"; then echo "$line"; return 0; fi
    sleep 0.1
  done
  return 1
}

# bg NAME CMD...: runs CMD in a process group of its own; its pid (= pgid) goes to BG_PGIDS.
bg() {
  local name=$1
  shift
  setsid "$@" >>"$WORK/$name.log" 2>&1 &
  BG_PGIDS+=($!)
}
