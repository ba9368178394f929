#include "socket_io.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::transport {

namespace {

using Clock = std::chrono::steady_clock;

// Dead-peer detection under NVMe's own (Keep Alive, command timeouts): TCP
// keepalive probes an idle connection (10 s idle, then 3 probes 5 s apart),
// and TCP_USER_TIMEOUT resets a connection whose sent data stays
// unacknowledged for 30 s (a pulled cable with writes queued), so a dead
// connection ends in a bounded time even with Keep Alive off.
constexpr int kKeepIdleS = 10, kKeepIntervalS = 5, kKeepCount = 3;
constexpr unsigned kUserTimeoutMs = 30000;

void detect_dead_peer(int fd) {
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepIdleS, sizeof kKeepIdleS);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepIntervalS, sizeof kKeepIntervalS);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof kKeepCount);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &kUserTimeoutMs, sizeof kUserTimeoutMs);
}

std::string describe_timeout(uint32_t ms) {
  return ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{} ms", ms);
}

// One address: returns fd (connected, blocking) or -errno; -ETIMEDOUT when the deadline passed.
int try_connect(const addrinfo* ai, Clock::time_point deadline) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return -errno;
  int err = 0;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    err = errno;
    while (err == EINPROGRESS || err == EINTR) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) { err = ETIMEDOUT; break; }
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, int(left));
      if (r < 0 && errno != EINTR) { err = errno; break; }
      if (r > 0) {
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        break;
      }
    }
  }
  if (err != 0) {
    ::close(fd);
    return -err;
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  detect_dead_peer(fd);
  return fd;
}

}  // namespace

int connect_tcp(const std::string& host, const std::string& port, uint32_t timeout_ms) {
  const std::string where = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                                  : fmt::format("{}:{}", host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) throw Error(fmt::format("connect to {}: {}", where, gai_strerror(gai)), EHOSTUNREACH);

  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int last = -ETIMEDOUT;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = try_connect(ai, deadline);
    if (fd >= 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last = fd;
    if (last == -ETIMEDOUT) break;
  }
  ::freeaddrinfo(res);
  if (last == -ETIMEDOUT)
    throw Error(fmt::format("connect to {}: timed out after {}", where, describe_timeout(timeout_ms)), ETIMEDOUT);
  throw Error(fmt::format("connect to {}: {}", where, std::strerror(-last)), -last);
}

void set_socket_timeouts(int fd, uint32_t timeout_ms) {
  timeval tv{time_t(timeout_ms / 1000), suseconds_t((timeout_ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Drops `done` bytes from the front of an iovec array; returns the new start.
static iovec* advance(iovec* iov, int& n, size_t done) {
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

int send_all(int fd, iovec* iov, int n, bool more) {
  iov = advance(iov, n, 0);  // skips empty entries
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(n);
    ssize_t r = ::sendmsg(fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    iov = advance(iov, n, size_t(r));
  }
  return 0;
}

int recv_all(int fd, iovec* iov, int n) {
  iov = advance(iov, n, 0);
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(n);
    ssize_t r = ::recvmsg(fd, &msg, MSG_WAITALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    if (r == 0) return -ECONNRESET;
    iov = advance(iov, n, size_t(r));
  }
  return 0;
}

}  // namespace nvmefs::transport
