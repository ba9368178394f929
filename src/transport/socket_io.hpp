// Blocking socket helpers for the TCP transport: connect with a deadline,
// whole-buffer send/receive that survive EINTR and short transfers.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nvmefs::transport {

// getaddrinfo + non-blocking connect + poll, every address in turn, all
// within timeout_ms. Returns a blocking socket with TCP_NODELAY set. Throws
// nvmefs::Error: "connect to HOST:PORT: Connection refused" / "... timed out after 10 s".
int connect_tcp(const std::string& host, const std::string& port, uint32_t timeout_ms);

// Sets SO_RCVTIMEO and SO_SNDTIMEO (0 = none).
void set_socket_timeouts(int fd, uint32_t timeout_ms);

// Sends every byte of iov[0..n) (the array is consumed). `more` adds MSG_MORE.
// Returns 0 or -errno.
int send_all(int fd, iovec* iov, int n, bool more = false);
// Receives exactly the bytes iov[0..n) describe (the array is consumed).
// Returns 0, -errno, or -ECONNRESET when the peer closed the connection.
int recv_all(int fd, iovec* iov, int n);
inline int recv_all(int fd, void* buf, size_t len) {
  iovec iov{buf, len};
  return recv_all(fd, &iov, 1);
}

}  // namespace nvmefs::transport
