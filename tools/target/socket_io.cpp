#include "socket_io.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace nvmefs::target {
namespace {

// Drops `done` bytes from the front of iov[0..n), skipping emptied entries.
iovec* advance(iovec* iov, int& n, size_t done) {
  while (n > 0 && done >= iov->iov_len) {
    done -= iov->iov_len;
    ++iov;
    --n;
  }
  if (n > 0) {
    iov->iov_base = static_cast<char*>(iov->iov_base) + done;
    iov->iov_len -= done;
  }
  return iov;
}

template <typename Op>
bool transfer_all(iovec* iov, int n, Op op) {
  iov = advance(iov, n, 0);
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(n);
    ssize_t r = op(msg);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    iov = advance(iov, n, size_t(r));
  }
  return true;
}

}  // namespace

bool recv_all(int fd, iovec* iov, int n) {
  return transfer_all(iov, n, [fd](msghdr& m) { return ::recvmsg(fd, &m, MSG_WAITALL); });
}

bool send_all(int fd, iovec* iov, int n) {
  return transfer_all(iov, n, [fd](msghdr& m) { return ::sendmsg(fd, &m, MSG_NOSIGNAL); });
}

}  // namespace nvmefs::target
