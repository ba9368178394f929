#!/bin/bash
# nvmefs-target against an outside initiator, nvmet-vm's probe.py (Python
# stdlib, no VM): Connect, properties, Identify, discovery log, in-capsule and
# R2T writes, C2HData reads, bytes checked in the backing file. Then the
# refusals (unknown subsystem, host not allowed), keep-alive timeout
# enforcement and the fault injection options probe.py can observe.
source "$(dirname "$0")/lib.sh"

PROBE="$(dirname "${NVMET_VM_REAL:?NVMET_VM_REAL must point at nvmet-vm}")/probe.py"
[[ -f "$PROBE" ]] || fail "$PROBE not found"
NQN=nqn.2024-01.io.nvmefs:probe
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-00000000abcd

probe() { timeout 30 python3 "$PROBE" --host 127.0.0.1 --port "$TARGET_PORT" "$@" >"$WORK/probe.out" 2>&1; }

start_target --nqn $NQN --ns "$WORK/ns1.img:16M" --nqn ${NQN}2 --ns ram:8M --allow-host $HOSTNQN
probe --nqn $NQN --backing "$WORK/ns1.img" || fail "probe: $(tail -5 "$WORK/probe.out")"
grep -q '^PASS' "$WORK/probe.out" || fail "probe did not PASS"
grep -q "subtype=nvme .*trsvcid=$TARGET_PORT traddr=127.0.0.1 subnqn=$NQN\$" "$WORK/probe.out" ||
  fail "discovery log lacks $NQN: $(grep entry "$WORK/probe.out")"
grep -q "subtype=current-discovery" "$WORK/probe.out" || fail "discovery log lacks the current discovery entry"
grep -q "subnqn=${NQN}2" "$WORK/probe.out" && fail "discovery log lists ${NQN}2 to a host it does not allow"
echo "ok: probe PASS, discovery log filtered by host"

probe --nqn ${NQN}2 --hostnqn $HOSTNQN --no-io || fail "probe of ${NQN}2 as allowed host: $(tail -3 "$WORK/probe.out")"
probe --nqn ${NQN}2 --no-io && fail "a host not on --allow-host connected"
grep -q 'status 0x184' "$WORK/probe.out" || fail "host not allowed: no status 0x184: $(tail -3 "$WORK/probe.out")"
probe --nqn nqn.2024-01.io.nvmefs:nope --no-io && fail "connect to an unknown NQN succeeded"
grep -q 'status 0x182' "$WORK/probe.out" || fail "unknown NQN: no status 0x182: $(tail -3 "$WORK/probe.out")"
echo "ok: allow-host and unknown NQN refused"
stop_target

start_target --nqn $NQN --ns ram:8M --fault-refuse-connect
probe --nqn $NQN --no-io && fail "--fault-refuse-connect: connect succeeded"
grep -q 'status 0x181' "$WORK/probe.out" || fail "--fault-refuse-connect: no status 0x181: $(tail -3 "$WORK/probe.out")"
echo "ok: --fault-refuse-connect -> 0x181"
stop_target

# probe.py sends three I/O commands: a write, a write, a read.
start_target --nqn $NQN --ns ram:8M --fault-close-after 2
probe --nqn $NQN && fail "--fault-close-after 2: probe passed"
grep -q 'write 4096 bytes .*: ok' "$WORK/probe.out" || fail "--fault-close-after 2: the first write failed"
grep -q 'fault injection: closing qid 1 after I/O command 2' "$WORK/target.err" || fail "--fault-close-after: not logged"
echo "ok: --fault-close-after 2 closes the I/O queue"
stop_target

# (unknown-cid is not checked here: probe.py ignores the CCCID of C2HData.)
start_target --nqn $NQN --ns ram:8M --fault-malformed 2 --fault-malformed-kind data-offset
probe --nqn $NQN && fail "--fault-malformed-kind data-offset: probe passed"
grep -q "fault injection: C2HData with data-offset" "$WORK/target.err" || fail "--fault-malformed data-offset: not sent"
echo "ok: --fault-malformed-kind data-offset breaks the read"
stop_target

start_target --nqn $NQN --ns ram:8M
out="$(timeout 10 python3 "$(dirname "$0")/keep_alive.py" "$TARGET_PORT" $NQN)" || fail "keep-alive: $out"
grep -q "keep-alive timeout (500 ms" "$WORK/target.err" || fail "keep-alive: the target did not report the timeout"
echo "ok: keep-alive timeout enforced ($out)"
stop_target

start_target --nqn $NQN --ns ram:8M --fault-delay-ms 400
start=$(date +%s%N)
probe --nqn $NQN || fail "--fault-delay-ms: probe failed: $(tail -3 "$WORK/probe.out")"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
(( elapsed_ms >= 1200 )) || fail "--fault-delay-ms 400: three I/O commands took only $elapsed_ms ms"
echo "ok: --fault-delay-ms 400 -> $elapsed_ms ms for three I/O commands"
stop_target
echo PASS
