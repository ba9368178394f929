#!/usr/bin/env python3
"""Acknowledged records, for the daemon-kill test.

  records.py write FILE ACKS SYNC   writes 4 KiB records 0, 1, 2, ... (record n at
      offset n * 4096, until the file is full or a write fails) and appends n to
      ACKS once the record is acknowledged: after pwrite returns (SYNC=none), or
      after the fsync that follows every 8th record (SYNC=fsync). Exits 0 when a
      write or fsync fails (the daemon was killed), 1 if the file filled up.
  records.py check FILE ACKS        every acknowledged record is in FILE, intact.

A record: magic, sequence number, 4068 bytes derived from the number, CRC32.
"""
import os
import struct
import sys
import zlib

RECORD = 4096
MAGIC = b"NVMEFSR1"


def record(n):
    body = MAGIC + struct.pack("<Q", n)
    body += (n.to_bytes(8, "little") * (RECORD // 8))[: RECORD - len(body) - 4]
    return body + struct.pack("<I", zlib.crc32(body))


def write(path, acks_path, sync):
    fd = os.open(path, os.O_WRONLY)
    slots = os.fstat(fd).st_size // RECORD
    with open(acks_path, "a", buffering=1) as acks:
        pending, acked = [], 0
        for n in range(slots):
            try:
                os.pwrite(fd, record(n), n * RECORD)
                pending.append(n)
                if sync == "fsync" and len(pending) < 8:
                    continue
                if sync == "fsync":
                    os.fsync(fd)
            except OSError as e:
                print(f"records: record {n}: {e.strerror} (errno {e.errno}); {acked} acknowledged")
                return 0
            for p in pending:
                acks.write(f"{p}\n")
            acked += len(pending)
            pending.clear()
    print("records: the file filled up before the daemon was killed")
    return 1


def check(path, acks_path):
    acked = [int(line) for line in open(acks_path) if line.strip()]
    with open(path, "rb") as f:
        for n in acked:
            f.seek(n * RECORD)
            got = f.read(RECORD)
            if got != record(n):
                seq = struct.unpack("<Q", got[8:16])[0] if got[:8] == MAGIC else None
                print(f"records: acknowledged record {n} is not in {path} (found seq {seq})")
                return 1
    print(f"records: all {len(acked)} acknowledged records are in {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "write" and sys.argv[4] in ("none", "fsync"):
        sys.exit(write(*sys.argv[2:]))
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    sys.exit(__doc__)
