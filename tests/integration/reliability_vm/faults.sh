#!/bin/bash
# Fault injection against the Linux kernel target (nvmet in a QEMU VM named
# itest-vmfault, port 4650) under load. nvmefs mounts the VM's two namespaces
# (cache=writethrough, reconnect_delay=1, ctrl_loss_tmo=-1, keep_alive_tmo=5,
# one I/O queue of 32 entries);
# fio rounds (random writes + crc32c verify) run on ns1 and exerciser rounds
# on ns2 while the target suffers, in turn:
#   restart  10 x the VM is stopped and started again (same backing files),
#   port     10 x nvmet port 1 is taken down (`ctl port_down 1`) and back up,
#   freeze    3 x the whole VM is stopped (SIGSTOP) for 10 s, then thawed:
#              Keep Alive (KATO 5 s, NVMe Base 2.0 §3.9) must notice it.
# For every fault: the controller leaves "live" (the fault is noticed), is
# live again after the restore, a reconnect is counted, and I/O completes.
# Afterwards: no fio verify or I/O error, every exerciser round consistent,
# no error counted by the daemon, and, after unmount and VM stop, the VM's
# backing files hold exactly the last data written: ns2 equals the
# exerciser's model, and ns1 equals the fio data regenerated from each
# region's last round (fio's output depends only on its parameters, except
# for the time stamp in each block's verify header).
# Prints the recovery times per fault type: detection (fault in effect ->
# controller not live), restore (VM READY, port_up or thaw done) -> live and
# restore -> first completed command.
#   faults.sh EXERCISER
EXERCISER=${1:?usage: faults.sh EXERCISER}
. "$(dirname "$0")/vm_lib.sh"
[ -x "$EXERCISER" ] || fail "no exerciser at $EXERCISER"
command -v fio >/dev/null || fail "fio is not installed"
RESTARTS=${VMFAULT_RESTARTS:-10} PORT_BOUNCES=${VMFAULT_PORT_BOUNCES:-10}
FREEZES=${VMFAULT_FREEZES:-3} FREEZE_S=${VMFAULT_FREEZE_S:-10}
# One I/O queue of 32 slots: fio's QD 32 rounds plus the exerciser park more
# commands than the queue has slots, so a reconnect must still find room for
# its Fabrics Connect (NVMe-oF 1.1 §3.3: Connect is the queue's first command).
OPTS=cache=writethrough,reconnect_delay=1,ctrl_loss_tmo=-1,keep_alive_tmo=5,nr_io_queues=1,queue_size=32
OPTS+=${VMFAULT_EXTRA_OPTS:+,$VMFAULT_EXTRA_OPTS}
RESULTS=$WORK/recovery   # lines: type n detect_ms live_ms io_ms
PROBLEMS=()              # failed checks that do not stop the run (reported at the end)
problem() { echo "  PROBLEM: $*" >&2; PROBLEMS+=("$*"); }

vm_init itest-vmfault 4650 --ns 1:64M --ns 2:16M
vm_start --fresh
ok "kernel target VM up ($URI)"
mount_daemon "$OPTS"
[ "$(stat -c %s "$MNT/ns1")" = $((64 << 20)) ] && [ "$(stat -c %s "$MNT/ns2")" = $((16 << 20)) ] ||
  fail "namespace files: $(ls -l "$MNT")"
start_monitor
bg fio bash "$HERE/fio_rounds.sh" "$MNT/ns1" "$WORK"
bg exerciser bash "$HERE/exerciser_rounds.sh" "$EXERCISER" "$MNT/ns2" "$WORK"
wait_sample 60 '$4 > 2000' >/dev/null || fail "workloads did not start"
ok "mounted with $OPTS; fio and exerciser rounds running"

check_workloads() {
  [ -e "$WORK/fio.fail" ] && fail "fio: $(cat "$WORK/fio.fail")"
  [ -e "$WORK/exerciser.fail" ] && fail "exerciser: $(cat "$WORK/exerciser.fail")"
  [ -e "$WORK/fio.exit" ] && fail "fio rounds ended early (status $(cat "$WORK/fio.exit"))"
  [ -e "$WORK/exerciser.exit" ] && fail "exerciser rounds ended early (status $(cat "$WORK/exerciser.exit"))"
  return 0
}
ms_of() { echo "${1%% *}"; }
clamp0() { [ "$1" -lt 0 ] && echo 0 || echo "$1"; }

# inject TYPE N: one fault while the workloads run, measured on the monitor's timeline.
inject() {
  local type=$1 n=$2 rec0 ops0 t_fault t_restore line detect live io limit=10 hold_ms=1000
  check_workloads
  rec0=$(sample_field 3)
  case $type in
    restart) vm_stop ;;
    port) vm_ctl port_down 1; hold_ms=2000 ;;
    freeze) vm_freeze; limit=$FREEZE_S hold_ms=$((FREEZE_S * 1000)) ;;
  esac
  t_fault=$(now_ms)   # the fault is in effect: QEMU gone, port unlinked, VM stopped
  if line=$(wait_sample $limit '$2 != "live"'); then
    detect=$(clamp0 $(($(ms_of "$line") - t_fault)))
  else
    detect=-1
    problem "$type $n: the controller was still live $limit s after the fault"
  fi
  # Keep the target away for the rest of the hold time (I/O stays blocked meanwhile).
  local rest=$((t_fault + hold_ms - $(now_ms)))
  [ $rest -gt 0 ] && pause "$(printf '%d.%03d' $((rest / 1000)) $((rest % 1000)))"
  ops0=$(sample_field 4)
  case $type in
    restart) vm_start ;;
    port) vm_ctl port_up 1 ;;
    freeze) vm_thaw ;;
  esac
  t_restore=$(now_ms)
  line=$(wait_sample 60 '$2 == "live"') || fail "$type $n: controller not live 60 s after the restore"
  live=$(clamp0 $(($(ms_of "$line") - t_restore)))
  line=$(wait_sample 60 "\$2 == \"live\" && \$4 > $ops0") || fail "$type $n: no command completed within 60 s of the restore"
  io=$(clamp0 $(($(ms_of "$line") - t_restore)))
  [ "$(sample_field 3)" -gt "$rec0" ] || problem "$type $n: no reconnect was counted"
  echo "$type $n $detect $live $io" >>"$RESULTS"
  echo "  $type $n: noticed after ${detect} ms; live ${live} ms, first completion ${io} ms after the restore"
  # The workloads go on: 300 more commands before the next fault.
  wait_sample 60 "\$4 > $(($(sample_field 4) + 300))" >/dev/null || fail "$type $n: workloads stalled after the recovery"
  check_workloads
}

freezes=0
for i in $(seq "$(( RESTARTS > PORT_BOUNCES ? RESTARTS : PORT_BOUNCES ))"); do
  [ "$i" -le "$RESTARTS" ] && inject restart "$i"
  [ "$i" -le "$PORT_BOUNCES" ] && inject port "$i"
  if [ $((i % 3)) = 0 ] && [ $freezes -lt "$FREEZES" ]; then freezes=$((freezes + 1)); inject freeze $freezes; fi
done
while [ $freezes -lt "$FREEZES" ]; do freezes=$((freezes + 1)); inject freeze $freezes; done
ok "$RESTARTS restarts, $PORT_BOUNCES port bounces, $FREEZES freezes injected"

# ---- the workloads finish their current round ----
touch "$WORK/stop"
for _ in $(seq 3000); do [ -e "$WORK/fio.exit" ] && [ -e "$WORK/exerciser.exit" ] && break; sleep 0.1; done
[ -e "$WORK/fio.fail" ] && fail "fio: $(cat "$WORK/fio.fail")"
[ -e "$WORK/exerciser.fail" ] && fail "exerciser: $(cat "$WORK/exerciser.fail")"
[ "$(cat "$WORK/fio.exit" 2>/dev/null)" = 0 ] && [ "$(cat "$WORK/exerciser.exit" 2>/dev/null)" = 0 ] ||
  fail "workloads did not end within 300 s of the stop request"
BG_PGIDS=()
read -r _ state reconnects ops net_errors file_errors <<<"$(last_sample)"
[ "$net_errors" = 0 ] && [ "$file_errors" = 0 ] || fail "the daemon counted errors: network $net_errors, file $file_errors"
ok "$(cat "$WORK/fio.rounds") fio rounds and $(cat "$WORK/exerciser.rounds") exerciser rounds passed; $reconnects reconnects, $ops commands, 0 errors"
stop_monitor
unmount_daemon
vm_stop

# ---- the VM's backing files hold the data ----
cmp -n $((16 << 20)) "$VM_STATE/ns2.img" "$WORK/model" || fail "ns2 backing file differs from the exerciser's model"
truncate -s 64M "$WORK/ns1.ref"
regions=()
for off in 0 16 32; do
  [ -f "$WORK/fio.region$off" ] || continue
  read -r bs qd seed <"$WORK/fio.region$off"
  timeout 120 fio --name=ref --filename="$WORK/ns1.ref" --offset=${off}M --size=16M --bs="$bs" --iodepth=1 \
    --rw=randwrite --ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --randseed="$seed" \
    --output="$WORK/fio-ref.out" >/dev/null 2>&1 || fail "regenerating fio region $off"
  regions+=("$off:$bs")
done
[ ${#regions[@]} -gt 0 ] || fail "no fio round completed"
python3 - "$WORK/ns1.ref" "$VM_STATE/ns1.img" "${regions[@]}" <<'PY' || fail "ns1 backing file differs from the fio data"
import sys
# fio's verify header (fio verify.h): bytes 24..39 are the write's time stamp.
units = {"k": 1 << 10, "M": 1 << 20}
ref, img = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
for spec in sys.argv[3:]:
    off, bs = spec.split(":")
    off, bs = int(off) << 20, int(bs[:-1]) * units[bs[-1]]
    for b in range(off, off + (16 << 20), bs):
        ref.seek(b); img.seek(b)
        want, got = ref.read(bs), img.read(bs)
        if want[:24] + want[40:] != got[:24] + got[40:]:
            sys.exit(f"block at {b} (bs {bs}) differs")
PY
ok "backing files: ns2 equals the exerciser's model, ns1 equals the last fio round of regions ${regions[*]}"

# ---- recovery times per fault type ----
echo "recovery times (ms): noticed = fault -> controller not live; live / first I/O = restore -> live / first completion"
awk '{ n[$1]++; for (i = 3; i <= 5; i++) { s[$1, i] += $i; if (n[$1] == 1 || $i > w[$1, i]) w[$1, i] = $i } }
     END { printf "  %-8s %3s  %-17s %-17s %-17s\n", "type", "n", "noticed worst/mean", "live worst/mean", "first-I/O worst/mean"
           for (t in n) printf "  %-8s %3d  %6d / %-8.0f %6d / %-8.0f %6d / %-8.0f\n", t, n[t],
             w[t, 3], s[t, 3] / n[t], w[t, 4], s[t, 4] / n[t], w[t, 5], s[t, 5] / n[t] }' "$RESULTS"
echo "daemon log: $(grep -c 'reconnected after' "$WORK/daemon.log") reconnects logged, $(grep -c ' error: ' "$WORK/daemon.log") error lines"
if [ ${#PROBLEMS[@]} -gt 0 ]; then
  printf '  %s\n' "${PROBLEMS[@]}" >&2
  fail "${#PROBLEMS[@]} fault(s) not handled as required (above)"
fi
echo "all VM fault-injection checks passed"
