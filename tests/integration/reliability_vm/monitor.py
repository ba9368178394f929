#!/usr/bin/env python3
"""Samples a mount's state for the VM reliability tests.

    monitor.py NVMEFS-CTL MOUNTPOINT OUT [INTERVAL]

Every INTERVAL seconds (default 0.1) runs `nvmefs-ctl stats -o json
MOUNTPOINT` and appends one line to OUT:

    ms state reconnects net_ops net_errors file_errors

ms: wall clock in milliseconds; state: the controller state of the first
namespace ("noanswer" when the daemon did not answer within 5 s);
reconnects: completed reconnects; net_ops: commands completed by the
network layer (reads + writes + flushes + other, all namespaces);
net_errors/file_errors: errors returned by the network / file layer.
Runs until killed, or until the mount has not answered for 60 s.
"""
import json
import subprocess
import sys
import time


def sample(ctl, mnt):
    out = subprocess.run([ctl, "stats", "-o", "json", mnt], capture_output=True, timeout=5, check=True).stdout
    nss = json.loads(out)["namespaces"]
    net = lambda n, k: n["network"][k]
    ops = sum(net(n, "reads") + net(n, "writes") + net(n, "flushes") + net(n, "other") for n in nss)
    return (nss[0]["controller_state"], nss[0]["reconnects"], ops, sum(net(n, "errors") for n in nss),
            sum(n["file"]["errors"] for n in nss))


def main():
    ctl, mnt, path = sys.argv[1:4]
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    last_answer = time.monotonic()
    prev = None
    with open(path, "a", buffering=1) as out:
        while True:
            start = time.monotonic()
            try:
                state, reconnects, ops, net_err, file_err = sample(ctl, mnt)
                last_answer = start
                prev = (reconnects, ops, net_err, file_err)
            except (subprocess.SubprocessError, ValueError, KeyError, IndexError) as e:
                detail = getattr(e, "stderr", None) or b""
                print(f"monitor: {e} {detail.decode(errors='replace').strip()}", file=sys.stderr)
                state = "noanswer"
                reconnects, ops, net_err, file_err = prev or (0, 0, 0, 0)
                if start - last_answer > 60:
                    return 1
            out.write(f"{int(time.time() * 1000)} {state} {reconnects} {ops} {net_err} {file_err}\n")
            time.sleep(max(0.0, interval - (time.monotonic() - start)))


if __name__ == "__main__":
    sys.exit(main())
