#!/usr/bin/env python3
"""I/O blocked on a lost controller, for the mount-gone test.

  blocked_io.py FILE THREADS SECONDS

THREADS threads each loop 64 KiB preads/pwrites (own region of FILE) until
one fails; then print one line (under a lock, so lines never interleave):
  thread=I op=read|write errno=E returned_at_ms=T in_flight_ms=D
"running" is printed once every thread has completed an operation. After all
threads stopped, one new read and one new write are timed:
  new op=read errno=E ms=D
Gives up after SECONDS (a thread whose operations never fail prints
errno=none). Times are wall-clock milliseconds (date +%s%3N compatible).
"""
import os
import sys
import threading
import time

SIZE = 64 << 10
out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def now_ms():
    return time.time_ns() // 1_000_000


def main(path, threads, seconds):
    fd = os.open(path, os.O_RDWR)
    deadline = time.monotonic() + seconds
    started = threading.Barrier(threads + 1, timeout=seconds)

    def arrived():
        try:
            started.wait()
        except threading.BrokenBarrierError:
            pass
    buf = os.urandom(SIZE)

    def one(i):
        off = i * (1 << 20)
        op, n = "write", 0
        while time.monotonic() < deadline:
            op = "write" if n % 2 == 0 else "read"
            t0 = now_ms()
            try:
                if op == "write":
                    os.pwrite(fd, buf, off)
                else:
                    os.pread(fd, SIZE, off)
            except OSError as e:
                say(f"thread={i} op={op} errno={e.errno} returned_at_ms={now_ms()} in_flight_ms={now_ms() - t0}")
                if n == 0:
                    arrived()
                return
            n += 1
            if n == 1:
                arrived()
        say(f"thread={i} op={op} errno=none returned_at_ms={now_ms()} in_flight_ms=0")

    workers = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    arrived()
    say("running")
    for w in workers:
        w.join()
    for op in ("read", "write"):
        t0 = now_ms()
        err = "none"
        try:
            os.pread(fd, SIZE, 0) if op == "read" else os.pwrite(fd, buf, 0)
        except OSError as e:
            err = e.errno
        say(f"new op={op} errno={err} ms={now_ms() - t0}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
