#!/usr/bin/env python3
"""Connects an admin queue with KATO 500 ms, then sends nothing: the target
must drop the connection after about KATO (NVMe Base 2.0 §3.9.5). Prints
"closed after S s" and exits 0 if that happened within 3 s."""
import socket
import struct
import sys
import time

port, subnqn = int(sys.argv[1]), sys.argv[2]
hostnqn = b"nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
s = socket.create_connection(("127.0.0.1", port), timeout=5)


def recv_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            sys.exit("connection closed early")
        buf += chunk
    return buf


icreq = bytearray(128)
icreq[2] = 128  # HLEN
struct.pack_into("<I", icreq, 4, 128)  # PLEN
s.sendall(icreq)
recv_exact(128)  # ICResp

cmd = bytearray(64)
cmd[0], cmd[1], cmd[4] = 0x7F, 0x40, 0x01  # Fabrics, SGL, Connect
struct.pack_into("<QIxxxB", cmd, 24, 0, 1024, 0x01)  # in-capsule SGL, 1024 bytes
struct.pack_into("<HHHBxI", cmd, 40, 0, 0, 31, 0, 500)  # recfmt qid sqsize cattr kato
data = bytearray(1024)
struct.pack_into("<H", data, 16, 0xFFFF)
data[256:256 + len(subnqn)] = subnqn.encode()
data[512:512 + len(hostnqn)] = hostnqn
hdr = bytearray(8)
hdr[0], hdr[2], hdr[3] = 0x04, 72, 72  # CapsuleCmd, HLEN, PDO
struct.pack_into("<I", hdr, 4, 72 + 1024)
s.sendall(bytes(hdr) + bytes(cmd) + bytes(data))
status = struct.unpack_from("<H", recv_exact(24), 22)[0] >> 1
if status:
    sys.exit("connect failed: status %#x" % status)

start = time.time()
s.settimeout(3)
try:
    while s.recv(100):
        pass
except socket.timeout:
    sys.exit("still connected 3 s after the keep-alive timeout of 500 ms")
print("closed after %.2f s" % (time.time() - start))
