#!/bin/bash
# Write-back durability, checked in the bundled target's backing file.
# cache=writeback with dirty_expire far away (the flusher only runs when
# asked): a plain write is not in the backing file yet (allowed, but noted),
# after fsync it is; an O_DSYNC write is there when it returns; a write
# followed by close (last writer) is there after close; a write on a file
# still open when the daemon gets SIGTERM is there once the daemon exited;
# and at the end the whole backing file holds every write.
. "$(dirname "$0")/e2e_lib.sh"
[ -x "$CTL" ] || fail "build nvmefs-ctl first"

start_target nqn.2024-01.io.nvmefs:e2e-durability --ns "$WORK/ns1.img:64M"
cp "$WORK/ns1.img" "$WORK/expected"
mount_fg -o cache=writeback,dirty_expire=3600,dirty_max=32M
dirty_bytes() { "$CTL" stats "$MNT" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["namespaces"][0]["cache"]["dirty_bytes"])'; }

# Each step: python writes through the mount and reports "in"/"out" of the backing file.
# No fork while the file is open: a child's close of the inherited descriptor is a FUSE
# FLUSH, which writes back (close-to-open), so dirty bytes come from the control socket.
SOCK=/run/nvmefs/ctl/$(systemd-escape --path "$MNT").sock
python3 - "$MNT/ns1" "$WORK/ns1.img" "$WORK/expected" "$SOCK" >"$WORK/steps.log" 2>&1 <<'PY' || fail "durability steps: $(cat "$WORK/steps.log")"
import json, os, socket, sys
ns, backing, expected, sock = sys.argv[1:]
exp = os.open(expected, os.O_RDWR)
def in_backing(off, data):
    with open(backing, "rb") as f:
        f.seek(off); return f.read(len(data)) == data
def record(off, data): os.pwrite(exp, data, off)
def dirty():
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock); s.sendall(b'{"cmd":"stats"}\n')
        reply = s.makefile().readline()
    return json.loads(reply)["namespaces"][0]["cache"]["dirty_bytes"]

fd = os.open(ns, os.O_RDWR)
a = os.urandom(300_000); off_a = 10_000_123
assert os.pwrite(fd, a, off_a) == len(a); record(off_a, a)
if in_backing(off_a, a):
    print("note: plain write already in the backing file before fsync (allowed)")
else:
    print("plain write: not in the backing file before fsync")
    assert dirty() > 0, "data not in the backing file but the cache reports no dirty bytes"
os.fsync(fd)
assert in_backing(off_a, a), "fsync returned but the data is not in the backing file"
assert dirty() == 0, "dirty bytes left after fsync"
print("fsync: in the backing file, no dirty bytes")

b = os.urandom(5000); off_b = 20_000_001
dfd = os.open(ns, os.O_RDWR | os.O_DSYNC)
assert os.pwrite(dfd, b, off_b) == len(b); record(off_b, b)
assert in_backing(off_b, b), "O_DSYNC write returned but is not in the backing file"
os.close(dfd)
print("O_DSYNC write: in the backing file when pwrite returns")

c = os.urandom(1 << 20); off_c = 30 << 20
assert os.pwrite(fd, c, off_c) == len(c); record(off_c, c)
os.close(fd)
assert in_backing(off_c, c), "last writer closed but the data is not in the backing file"
print("close of the last writer: in the backing file")
PY
sed 's/^/  /' "$WORK/steps.log"
ok "writeback: fsync, O_DSYNC and close make data durable on the target"

# SIGTERM with a writer still open and dirty data: the daemon unmounts lazily, keeps
# serving the open file (nvmefs(8), SIGNALS), and writes it back before it exits.
python3 - "$MNT/ns1" "$WORK/expected" <<'PY' >"$WORK/holder.log" 2>&1 &
import os, sys, time
ns, expected = sys.argv[1:]
fd = os.open(ns, os.O_RDWR)
exp = os.open(expected, os.O_RDWR)
d = os.urandom(777_777); off = 40_000_003
os.pwrite(fd, d, off); os.pwrite(exp, d, off)
open(expected + ".written", "w").close()
while not os.path.exists(expected + ".go"): time.sleep(0.05)
try:
    e = os.urandom(4097)
    os.pwrite(fd, e, 50_000_000); os.pwrite(exp, e, 50_000_000)
    assert os.pread(fd, len(d), off) == d, "read after SIGTERM differs"
    os.close(fd)
except OSError as err:
    print(f"I/O on the open file after SIGTERM failed: {err}"); sys.exit(3)
PY
HOLDER=$!
for _ in $(seq 100); do [ -e "$WORK/expected.written" ] && break; sleep 0.1; done
[ -e "$WORK/expected.written" ] || fail "holder did not write"
[ "$(dirty_bytes)" -gt 0 ] || echo "  note: no dirty bytes before SIGTERM (written back early)"
kill -TERM "$DPID"
for _ in $(seq 50); do mounted || break; sleep 0.1; done
! mounted || fail "SIGTERM did not unmount (lazily)"
touch "$WORK/expected.go"
holder_rc=0; wait $HOLDER || holder_rc=$?
timeout 60 tail --pid="$DPID" -f /dev/null || fail "daemon did not exit after SIGTERM and the last close"
rc=0; wait "$DPID" || rc=$?; DPID=
cmp -i 40000003 -n 777777 "$WORK/ns1.img" "$WORK/expected" || fail "data dirty at SIGTERM is not in the backing file after the daemon exited"
[ $holder_rc = 0 ] || fail "open file not served after SIGTERM (lazy unmount): $(cat "$WORK/holder.log")"
[ $rc = 0 ] || fail "daemon exit code $rc after SIGTERM"
cmp "$WORK/ns1.img" "$WORK/expected" || fail "backing file misses data written before/after SIGTERM"
ok "SIGTERM with an open dirty file: served until closed, everything in the backing file after exit"
echo "all write-back durability checks passed"
