#!/bin/bash
# Multipath failover: reliability_check keeps 16 verified 4 KiB requests in
# flight over a namespace reached through two ports of the kernel target
# while the script
#   1. takes port 1 down (its controller is deleted)      -> I/O moves to port 2
#   2. brings port 1 back                                  -> path 0 reconnects
#   3. makes port 2's ANA group inaccessible (ANA change notice, status 302h)
#      -> I/O moves to port 1; optimized again -> used again
#   4. takes both ports down, then brings port 2 back      -> I/O is held, then resumes
# and then checks: no I/O error reached the application, every block reads
# back as last written, both events were seen by the multipath layer.
#   failover.sh RELIABILITY_CHECK
set -u
CHECK=${1:?usage: failover.sh RELIABILITY_CHECK}
VM=${NVMET_VM:?NVMET_VM not set}
NAME=itest-mp
PORT1=4540
PORT2=4541
STATE=${NVMET_VM_RUN:-/tmp/nvmet-vm}/$NAME
WORK=$(mktemp -d /tmp/nvmefs-multipath.XXXXXX)
WORKLOAD_PID=

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
cleanup() {
  [ -n "$WORKLOAD_PID" ] && kill "$WORKLOAD_PID" 2>/dev/null && wait "$WORKLOAD_PID" 2>/dev/null
  "$VM" stop --name $NAME >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
ctl() { timeout 20 "$VM" ctl --name $NAME "$@" >>"$WORK/ctl.log" 2>&1 || fail "nvmet-vm ctl $*"; }
# Waits up to $2 s for the workload log to match $1.
wait_log() {
  for _ in $(seq $(($2 * 10))); do
    grep -q -- "$1" "$WORK/check.log" && return 0
    kill -0 "$WORKLOAD_PID" 2>/dev/null || fail "workload exited early: $(tail -n 20 "$WORK/check.log")"
    sleep 0.1
  done
  fail "no '$1' in the workload log after $2 s: $(tail -n 20 "$WORK/check.log")"
}

[ -x "$VM" ] || fail "no nvmet-vm at $VM"
[ -x "$CHECK" ] || fail "no reliability_check at $CHECK"
timeout 120 "$VM" start --name $NAME --port $PORT1 --port2 $PORT2 --ns 1:64M --fresh >"$WORK/vm.log" 2>&1 ||
  fail "nvmet-vm start: $(tail -n 20 "$WORK/vm.log")"
NQN=$(sed -n 's/^nqn=//p' "$STATE/info")
NQN=${NQN:-nqn.2014-08.org.nvmexpress:nvmet-vm:$NAME}
ok "kernel target VM up ($NQN, ports $PORT1 and $PORT2)"

# ctrl_loss_tmo 60: no path gives up during the test; reconnect every second.
timeout 200 "$CHECK" --traddr 127.0.0.1 --trsvcid $PORT1 --nqn "$NQN" --path 127.0.0.1:$PORT2 \
  --seconds 40 --size $((16 << 20)) --qd 16 --ctrl-loss-tmo 60 --reconnect-delay 1 >"$WORK/check.log" 2>&1 &
WORKLOAD_PID=$!
wait_log "filled" 60
sleep 3

ctl 'port_down 1'
wait_log "path 0 (.*) is connecting" 10
sleep 4
ctl 'port_up 1'
wait_log "path 0 (.*) is live" 15
ok "port 1 down and back: path 0 failed over and reconnected"
sleep 2

ctl 'echo inaccessible > $CFG/ports/2/ana_groups/1/ana_state'
wait_log "path 1 ANA state optimized -> inaccessible" 10
sleep 3
ctl 'echo optimized > $CFG/ports/2/ana_groups/1/ana_state'
wait_log "path 1 ANA state inaccessible -> optimized" 10
grep -q "path 1: ANA change notice" "$WORK/check.log" || fail "no ANA change notice from port 2"
ok "port 2 ANA inaccessible and back: seen by the multipath layer"
sleep 2

ctl 'port_down 1; port_down 2'
wait_log "path 1 (.*) is connecting" 10
sleep 3
ctl 'port_up 2'
ok "both ports down for 3 s, then port 2 back"

wait "$WORKLOAD_PID"
RC=$?
WORKLOAD_PID=
RESULT=$(grep '^ops=' "$WORK/check.log")
echo "$RESULT"
[ $RC = 0 ] || fail "workload exit $RC: $(tail -n 30 "$WORK/check.log")"
echo "$RESULT" | grep -q ' io_errors=0 mismatches=0 ' || fail "I/O errors or mismatches: $RESULT"
grep -q "path 1 (.*) is live" "$WORK/check.log" || fail "path 1 never came back"
ok "no application error, every block verified"
