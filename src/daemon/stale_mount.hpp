// A FUSE daemon that died (kill -9, crash, OOM) leaves its mount behind:
// every access to the mount point then fails with ENOTCONN ("Transport
// endpoint is not connected"), so a new mount on it would fail before it
// starts. Before mounting, the daemon detaches such a dead FUSE mount (lazily,
// like `umount -l` / `fusermount3 -uz`) with a warning, and carries on.
#pragma once

#include <string>

namespace nvmefs::daemon {

// If `mountpoint` answers ENOTCONN (stat or statfs) and /proc/self/mountinfo shows a FUSE
// mount there, detaches it: umount2(MNT_DETACH) as root, `fusermount3 -uz`
// otherwise. Returns true if a dead mount was detached, false if there was
// none (anything else about the path is left to the caller's own checks).
// Throws nvmefs::Error if a dead mount is there and cannot be detached.
bool detach_stale_mount(const std::string& mountpoint);

}  // namespace nvmefs::daemon
