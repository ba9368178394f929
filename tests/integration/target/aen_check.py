#!/usr/bin/env python3
"""Asynchronous events of nvmefs-target at the wire level (NVMe Base 2.0 §5.2),
driven by `nvmefs-target --control SOCKET ctl ...`:

  I/O controller: Namespace Attribute Changed (dw0 0x00040002) after ns-add;
  masked until Get Log Page 04h with RAE=0, whose Changed Namespace List
  names every NSID changed meanwhile; Identify active list / Namespace follow.
  Persistent discovery controller (KATO != 0, AEC bit 31): Discovery Log Page
  Change (dw0 0x0070F002) after subsys-add; masked until log 70h is read
  with RAE=0 (RAE=1 keeps it masked); GENCTR moves on every change.

usage: aen_check.py TARGET_BIN SOCKET PORT NQN   (prints ok lines, PASS; exit 1 on failure)"""
import socket
import struct
import subprocess
import sys
import time

target_bin, ctl_socket, port, nqn = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
HOSTNQN = b"nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000a9"
DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery"
NS_CHANGED, DISC_CHANGED = 0x00040002, 0x0070F002
QUIET = 0.5  # s: how long "no event" is watched for (a negative cannot be polled)


def fail(msg):
    sys.exit("FAIL: " + msg)


def ctl(*args):
    r = subprocess.run([target_bin, "--control", ctl_socket, "ctl", *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("ctl %s: %s" % (" ".join(args), r.stderr.strip()))


class Queue:
    """An admin queue over NVMe/TCP (no digests): commands, C2HData, completions."""

    def __init__(self, subnqn, kato_ms):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.done = {}  # cid -> (status, dw0, data)
        self.data = {}
        icreq = bytearray(128)
        icreq[2] = 128
        struct.pack_into("<I", icreq, 4, 128)
        self.s.sendall(icreq)
        self.recv_exact(128)
        data = bytearray(1024)
        struct.pack_into("<H", data, 16, 0xFFFF)
        data[256:256 + len(subnqn)] = subnqn.encode()
        data[512:512 + len(HOSTNQN)] = HOSTNQN
        cmd = bytearray(64)
        cmd[0], cmd[1], cmd[4] = 0x7F, 0x40, 0x01  # Fabrics Connect
        struct.pack_into("<QIxxxB", cmd, 24, 0, 1024, 0x01)  # SGL data block, in-capsule offset 0
        struct.pack_into("<HHHBxI", cmd, 40, 0, 0, 31, 0, kato_ms)
        self.send(cmd, bytes(data))
        self.check(self.wait(0), "Connect")
        cmd = bytearray(64)
        cmd[0], cmd[1], cmd[4] = 0x7F, 0x40, 0x00  # Property Set CC.EN = 1
        struct.pack_into("<H", cmd, 2, 1)
        struct.pack_into("<IIQ", cmd, 40, 0, 0x14, 0x00460001)
        self.send(cmd)
        self.check(self.wait(1), "Property Set CC")

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                fail("connection closed by the target")
            buf += chunk
        return buf

    def send(self, cmd, data=b""):
        hdr = bytearray(8)
        hdr[0], hdr[2] = 0x04, 72
        hdr[3] = 72 if data else 0
        struct.pack_into("<I", hdr, 4, 72 + len(data))
        self.s.sendall(bytes(hdr) + bytes(cmd) + data)

    def admin(self, opcode, cid, nsid=0, cdw10=0, cdw11=0, read_len=0):
        cmd = bytearray(64)
        cmd[0], cmd[1] = opcode, 0x40
        struct.pack_into("<HI", cmd, 2, cid, nsid)
        if read_len:
            struct.pack_into("<QI", cmd, 24, 0, read_len)
            cmd[39] = 0x5A  # Transport SGL Data Block
        struct.pack_into("<II", cmd, 40, cdw10, cdw11)
        self.send(cmd)

    def poll(self, timeout):
        """Reads PDUs for up to `timeout` s (at least one if one is there); records completions."""
        self.s.settimeout(timeout)
        try:
            ch = self.recv_exact(8)
        except socket.timeout:
            return False
        finally:
            self.s.settimeout(5)
        ptype, hlen, pdo, plen = ch[0], ch[2], ch[3], struct.unpack_from("<I", ch, 4)[0]
        rest = self.recv_exact(plen - 8)
        pdu = ch + rest
        if ptype == 0x07:  # C2HData
            cid, off, length = struct.unpack_from("<HxxII", pdu, 8)
            self.data.setdefault(cid, bytearray())[off:off + length] = pdu[pdo:pdo + length]
        elif ptype == 0x05:  # CapsuleResp
            dw0, cid, status = struct.unpack_from("<I", pdu, 8)[0], *struct.unpack_from("<HH", pdu, 20)
            self.done[cid] = (status >> 1, dw0, bytes(self.data.pop(cid, b"")))
        else:
            fail("unexpected PDU type %#x" % ptype)
        return True

    def wait(self, cid, timeout=5.0):
        end = time.time() + timeout
        while cid not in self.done:
            left = end - time.time()
            if left <= 0 or not self.poll(left):
                if cid not in self.done:
                    fail("no completion for cid %d within %.1f s" % (cid, timeout))
        return self.done.pop(cid)

    def quiet(self, cid):
        """True if cid stays outstanding for QUIET seconds."""
        end = time.time() + QUIET
        while time.time() < end:
            self.poll(max(end - time.time(), 0.01))
            if cid in self.done:
                return False
        return True

    @staticmethod
    def check(result, what):
        if result[0] != 0:
            fail("%s: status %#x" % (what, result[0]))
        return result

    def get_log(self, cid, lid, length, rae):
        numdl = length // 4 - 1
        self.admin(0x02, cid, nsid=0xFFFFFFFF, cdw10=lid | (rae << 15) | (numdl << 16), read_len=length)
        return self.check(self.wait(cid), "Get Log Page %#x" % lid)[2]


def nsids(raw):
    out = []
    for i in range(0, len(raw), 4):
        v = struct.unpack_from("<I", raw, i)[0]
        if v == 0:
            break
        out.append(v)
    return out


# ---- I/O controller: Namespace Attribute Changed ----
q = Queue(nqn, 10000)
q.admin(0x06, 10, cdw10=0x01, read_len=4096)  # Identify Controller
idc = q.check(q.wait(10), "Identify Controller")[2]
oaes, nn = struct.unpack_from("<I", idc, 92)[0], struct.unpack_from("<I", idc, 516)[0]
if not oaes & (1 << 8):
    fail("OAES lacks Namespace Attribute Notices (bit 8): %#x" % oaes)
q.admin(0x09, 11, cdw10=0x0B, cdw11=1 << 8)  # Set Features AEC: namespace attribute notices
q.check(q.wait(11), "Set Features AEC")
q.admin(0x0C, 100)
q.admin(0x0C, 101)
ctl("ns-add", "3", "ram:1M")
st, dw0, _ = q.wait(100)
if st or dw0 != NS_CHANGED:
    fail("ns-add 3: AER completed with status %#x dw0 %#x, expected dw0 %#x" % (st, dw0, NS_CHANGED))
ctl("ns-add", "4", "ram:2M")
if not q.quiet(101):
    fail("a second Namespace Attribute Changed event before log 04h was read")
changed = nsids(q.get_log(12, 0x04, 4096, rae=0))
if changed != [3, 4]:
    fail("Changed Namespace List %s, expected [3, 4]" % changed)
q.admin(0x06, 13, nsid=0, cdw10=0x02, read_len=4096)
active = nsids(q.check(q.wait(13), "Identify active list")[2])
if active != [1, 3, 4]:
    fail("active namespace list %s, expected [1, 3, 4]" % active)
print("ok: ns-add -> event dw0 %#x; masked until log 04h read, which lists [3, 4]; NN %d" % (dw0, nn))
ctl("ns-remove", "3")
st, dw0, _ = q.wait(101)
if st or dw0 != NS_CHANGED:
    fail("ns-remove 3: AER completed with status %#x dw0 %#x" % (st, dw0))
ctl("ns-resize", "4", "1M")
changed = nsids(q.get_log(14, 0x04, 4096, rae=1))  # RAE=1: the list stays, so does the mask
if changed != [3, 4]:
    fail("Changed Namespace List %s after remove+resize, expected [3, 4]" % changed)
changed = nsids(q.get_log(15, 0x04, 4096, rae=0))
if changed != [3, 4] or nsids(q.get_log(16, 0x04, 4096, rae=0)):
    fail("log 04h with RAE=0 did not clear the list")
q.admin(0x06, 17, nsid=3, cdw10=0x00, read_len=4096)
idns = q.check(q.wait(17), "Identify Namespace 3")[2]
if any(idns):
    fail("Identify Namespace of removed NSID 3 is not zero filled")
q.admin(0x06, 18, nsid=4, cdw10=0x00, read_len=4096)
nsze = struct.unpack_from("<QQQ", q.check(q.wait(18), "Identify Namespace 4")[2], 0)
if nsze != (2048, 2048, 2048):
    fail("Identify Namespace 4 after resize: NSZE/NCAP/NUSE %s, expected 2048" % (nsze,))
q.admin(0x0C, 102)
ctl("ns-remove", "4")
st, dw0, _ = q.wait(102)
if st or dw0 != NS_CHANGED:
    fail("ns-remove 4 after the log was read: no event")
print("ok: removed NSID reads as zeros, resize shows NSZE 2048, RAE=1 keeps the mask, RAE=0 clears it")

# ---- persistent discovery controller: Discovery Log Page Change ----
d = Queue(DISCOVERY_NQN, 10000)
d.admin(0x06, 10, cdw10=0x01, read_len=4096)
oaes = struct.unpack_from("<I", d.check(d.wait(10), "Identify Controller")[2], 92)[0]
if not oaes & (1 << 31):
    fail("discovery OAES lacks Discovery Log Page Change (bit 31): %#x" % oaes)
d.admin(0x09, 11, cdw10=0x0B, cdw11=1 << 31)
d.check(d.wait(11), "Set Features AEC (discovery)")


def genctr(cid, rae):
    log = d.get_log(cid, 0x70, 8192, rae)
    count = struct.unpack_from("<Q", log, 8)[0]
    names = [log[1024 + i * 1024 + 256:1024 + i * 1024 + 512].rstrip(b"\0").decode() for i in range(min(count, 7))]
    return struct.unpack_from("<Q", log, 0)[0], names


g0, names = genctr(20, 0)
d.admin(0x0C, 200)
d.admin(0x0C, 201)
sub_a, sub_b = nqn + "-aen-a", nqn + "-aen-b"
ctl("subsys-add", sub_a, "--ns", "ram:1M")
st, dw0, _ = d.wait(200)
if st or dw0 != DISC_CHANGED:
    fail("subsys-add: discovery AER status %#x dw0 %#x, expected dw0 %#x" % (st, dw0, DISC_CHANGED))
ctl("subsys-remove", sub_a)
if not d.quiet(201):
    fail("a second Discovery Log Page Change before the log was read")
g, names = genctr(21, 1)
if g != g0 + 2 or sub_a in names:
    fail("after add+remove: GENCTR %d (from %d), entries %s" % (g, g0, names))
ctl("subsys-add", sub_b)
if not d.quiet(201):
    fail("an event after a log read with RAE=1 (must stay masked)")
g, names = genctr(22, 0)
if g != g0 + 3 or sub_b not in names:
    fail("after subsys-add %s: GENCTR %d (from %d), entries %s" % (sub_b, g, g0, names))
ctl("subsys-remove", sub_b)
st, dw0, _ = d.wait(201)
if st or dw0 != DISC_CHANGED:
    fail("subsys-remove after the log was read: no event")
print("ok: discovery event dw0 %#x; masked until log 70h read with RAE=0; GENCTR %d -> %d" % (dw0, g0, g + 1))

# ---- a discovery controller without KATO gets no event ----
n = Queue(DISCOVERY_NQN, 0)
n.admin(0x09, 11, cdw10=0x0B, cdw11=1 << 31)
n.check(n.wait(11), "Set Features AEC (non-persistent)")
n.admin(0x0C, 300)
ctl("subsys-add", sub_a)
if not n.quiet(300):
    fail("a discovery controller with KATO 0 got a Discovery Log Page Change event")
ctl("subsys-remove", sub_a)
print("ok: no event for a discovery controller with KATO 0")
print("PASS")
