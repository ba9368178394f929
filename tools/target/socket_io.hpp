// Whole-buffer blocking socket I/O for the target's connection threads.
// (src/transport has the same for the host side, but keeps it private.)
#pragma once

#include <sys/uio.h>

#include <cstddef>

namespace nvmefs::target {

// Receive exactly the bytes iov[0..n) describe / send all of them. The array
// is consumed. False on EOF or error (the connection is then unusable).
bool recv_all(int fd, iovec* iov, int n);
bool send_all(int fd, iovec* iov, int n);
inline bool recv_all(int fd, void* buf, size_t len) {
  iovec iov{buf, len};
  return recv_all(fd, &iov, 1);
}

}  // namespace nvmefs::target
