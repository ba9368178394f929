#!/usr/bin/env python3
"""Holds one open file descriptor on a namespace file across changes made on
the target (resize, removal) and answers one command per line on stdin with
one line on stdout:
  write OFF LEN SEED   pwrite LEN bytes of a seeded pattern at OFF  -> "ok" | "err ERRNO"
  check OFF LEN SEED   pread them back and compare                  -> "ok" | "mismatch" | "err ERRNO"
  fsync                                                             -> "ok" | "err ERRNO"
  fstat                                                             -> "size N"
Used by fs/live_namespaces.sh and e2e_vm/live_namespaces.sh."""
import errno
import os
import random
import sys


def pattern(length, seed):
    return random.Random(seed).randbytes(length)


def main():
    fd = os.open(sys.argv[1], os.O_RDWR)
    print("open", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "write":
                off, length, seed = map(int, words[1:4])
                n = os.pwrite(fd, pattern(length, seed), off)
                reply = "ok" if n == length else f"short {n}"
            elif words[0] == "check":
                off, length, seed = map(int, words[1:4])
                reply = "ok" if os.pread(fd, length, off) == pattern(length, seed) else "mismatch"
            elif words[0] == "fsync":
                os.fsync(fd)
                reply = "ok"
            elif words[0] == "fstat":
                reply = f"size {os.fstat(fd).st_size}"
            else:
                reply = f"unknown command {words[0]}"
        except OSError as e:
            reply = f"err {errno.errorcode.get(e.errno, e.errno)}"
        print(reply, flush=True)
    try:
        os.close(fd)
    except OSError:
        pass


if __name__ == "__main__":
    main()
