#!/usr/bin/env python3
"""Speaks raw NVMe/TCP to nvmefs-target started with --dhchap-key, to check the
controller side without the nvmefs host: Connect sets AUTHREQ.ATR (CQE DW0 bit
17), Identify fails with 0x191 (authentication required) before authentication
while Property Get (a fabrics command) works, and an AUTH_Negotiate that offers
only a hash the target does not use is answered with Failure1 (hash function
not usable), after which Identify still fails.
usage: raw_auth_client.py PORT SUBNQN HOSTNQN OFFERED-HASH-ID"""
import socket
import struct
import sys

port, subnqn, hostnqn, offered_hash = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port), timeout=10)


def recv_exact(n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise SystemExit("FAIL the target closed the connection")
        b += chunk
    return b


def recv_pdu():
    ch = recv_exact(8)
    ptype, _flags, hlen, pdo, plen = struct.unpack("<BBBBI", ch)
    return ptype, hlen, pdo, ch + recv_exact(plen - 8)


def sqe(opcode, cid, fctype=0, sgl_type=0x5A, length=0, cdw10=0, cdw11=0):
    b = bytearray(64)
    b[0], b[1] = opcode, 0x40  # PSDT: SGL
    struct.pack_into("<H", b, 2, cid)
    b[4] = fctype
    struct.pack_into("<QI", b, 24, 0, length)
    b[39] = sgl_type
    struct.pack_into("<II", b, 40, cdw10, cdw11)
    return bytes(b)


def command(sq, data=b""):
    """Sends a capsule (data in-capsule); returns (status without DNR/MORE, dw0, C2H data)."""
    s.sendall(struct.pack("<BBBBI", 0x04, 0, 72, 72 if data else 0, 72 + len(data)) + sq + data)
    got = b""
    while True:
        ptype, hlen, pdo, pdu = recv_pdu()
        if ptype == 0x07:  # C2HData
            got += pdu[pdo:]
        elif ptype == 0x05:  # CapsuleResp
            dw0, = struct.unpack_from("<I", pdu, 8)
            status, = struct.unpack_from("<H", pdu, 8 + 14)
            return (status >> 1) & 0x7FF, dw0, got  # SCT|SC
        else:
            raise SystemExit(f"FAIL unexpected PDU type {ptype:#x}")


fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += not ok


# ICReq / ICResp (NVMe/TCP 1.0 §3.6.2.2)
s.sendall(struct.pack("<BBBBI", 0x00, 0, 128, 0, 128) + bytes(120))
assert recv_pdu()[0] == 0x01
# Connect, admin queue (NVMe-oF 1.1 §3.3): SQSIZE 31, CNTLID FFFFh.
data = bytearray(1024)
struct.pack_into("<H", data, 16, 0xFFFF)
data[256:256 + len(subnqn)] = subnqn.encode()
data[512:512 + len(hostnqn)] = hostnqn.encode()
st, dw0, _ = command(sqe(0x7F, 1, fctype=0x01, sgl_type=0x01, length=1024, cdw11=31), bytes(data))
check(st == 0 and dw0 & (1 << 17), f"Connect succeeds with AUTHREQ.ATR (status {st:#x}, dw0 {dw0:#x})")
st, _, _ = command(sqe(0x06, 2, length=4096, cdw10=1))
check(st == 0x191, f"Identify before authentication fails with 0x191 (got {st:#x})")
st, _, _ = command(sqe(0x7F, 3, fctype=0x04, cdw11=0))
check(st == 0, f"Property Get CAP works before authentication (got {st:#x})")
# AUTH_Negotiate offering one hash and every DH group.
neg = bytearray(72)
struct.pack_into("<BBHHBB", neg, 0, 0x00, 0x00, 0, 7, 0, 1)
neg[8], neg[10], neg[11] = 0x01, 1, 6
neg[12] = offered_hash
for g in range(6):
    neg[12 + 30 + g] = g
auth10 = (0xE9 << 24) | (1 << 16) | (1 << 8)
st, _, _ = command(sqe(0x7F, 4, fctype=0x05, sgl_type=0x01, length=72, cdw10=auth10, cdw11=72), bytes(neg))
check(st == 0, f"Authentication Send (Negotiate) completes (got {st:#x})")
st, _, msg = command(sqe(0x7F, 5, fctype=0x06, length=4096, cdw10=auth10, cdw11=4096))
check(st == 0 and len(msg) == 8 and msg[:2] == b"\x00\xf1" and msg[4:6] == b"\x07\x00" and msg[6:8] == b"\x01\x04",
      f"Authentication Receive returns Failure1, hash function not usable (got {msg.hex()})")
st, _, _ = command(sqe(0x06, 6, length=4096, cdw10=1))
check(st == 0x191, f"Identify after the failed transaction still fails with 0x191 (got {st:#x})")
sys.exit(1 if fails else 0)
