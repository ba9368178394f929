// The byte stream under the NVMe/TCP PDU framing: a plain TCP socket, or TLS
// 1.3 over that socket (tls.hpp). Both sides of the transport (host queue
// pairs, the bundled target) read and write PDUs only through this.
//
// Rules: one reader and one writer may use a stream at the same time (the
// receive thread and the sender); two writers must serialize themselves.
// The stream never owns the socket: its owner closes it after the stream is
// gone, and wakes a blocked reader with shutdown(fd).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace nvmefs::transport {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Receives exactly the bytes iov[0..n) describe (the array is consumed).
  // Returns 0, -ECONNRESET when the peer closed the connection, -ETIMEDOUT,
  // -EPROTO (TLS record error) or another -errno.
  virtual int read_all(iovec* iov, int n) = 0;
  int read_all(void* buf, size_t len) {
    iovec iov{buf, len};
    return read_all(&iov, 1);
  }
  // Sends every byte of iov[0..n) (the array is consumed). `more`: more data
  // follows at once (a hint). Returns 0 or -errno.
  virtual int write_all(iovec* iov, int n, bool more = false) = 0;

  // Bounds each later read/write wait (0 = wait forever).
  virtual void set_timeout(uint32_t timeout_ms) = 0;
};

// The socket itself: recvmsg/sendmsg straight from and into the caller's buffers.
std::unique_ptr<ByteStream> plain_stream(int fd);

}  // namespace nvmefs::transport
