#include "server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/transport/tls.hpp"
#include "tcp_queue.hpp"

namespace nvmefs::target {
namespace {

constexpr int kWatchdogPeriodMs = 100;  // keep-alive check granularity (Identify KAS = 100 ms)
constexpr uint32_t kTlsHandshakeTimeoutMs = 10000;

std::string address_string(const sockaddr_storage& ss, bool with_port) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    if (with_port) return fmt::format("[{}]:{}", host, port);
  }
  return with_port ? fmt::format("{}:{}", host, port) : std::string(host);
}

}  // namespace

Server::~Server() {
  reap(true);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

uint16_t Server::listen(const std::string& host, uint16_t port) {
  const std::string where = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                                 : fmt::format("{}:{}", host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port_str = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), port_str.c_str(), &hints, &res); rc != 0)
    throw Error(fmt::format("cannot listen on {}: {}", where, gai_strerror(rc)));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart despite TIME_WAIT; a live listener still conflicts
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 128) != 0) err = errno;
  }
  ::freeaddrinfo(res);
  if (err) {
    if (fd >= 0) ::close(fd);
    throw Error(fmt::format("cannot listen on {}: {}", where, std::strerror(err)));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  listen_fd_ = fd;
  ctx_.port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return ctx_.port;
}

void Server::run(int signal_fd) {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {signal_fd, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, kWatchdogPeriodMs);
    if (n < 0 && errno != EINTR) throw Error(fmt::format("poll: {}", std::strerror(errno)));
    if (n > 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo si{};
      if (::read(signal_fd, &si, sizeof si) > 0) log::info("signal {} received, shutting down", strsignal(int(si.ssi_signo)));
      break;
    }
    if (n > 0 && (fds[0].revents & POLLIN)) accept_one();
    ctx_.controllers.expire_keep_alive();
    reap(false);
  }
  reap(true);
}

void Server::accept_one() {
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) log::warn("accept: {}", std::strerror(errno));
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage local{};
  len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  LocalAddress where{address_string(local, false),
                     uint8_t(local.ss_family == AF_INET6 ? NVMF_ADDR_FAMILY_IP6 : NVMF_ADDR_FAMILY_IP4)};
  std::string name = address_string(peer, true);
  log::debug("connection from {}", name);

  auto conn = std::make_unique<Connection>();
  conn->fd = fd;
  Connection* c = conn.get();
  conn->thread = std::thread([this, c, where = std::move(where), name = std::move(name)]() mutable {
    if (auto stream = open_stream(c->fd, name)) {
      TcpQueue queue(ctx_, c->fd, *stream, std::move(where), name);
      queue.run();
    }
    log::debug("connection from {} closed", name);
    c->done = true;
  });
  connections_.push_back(std::move(conn));
}

// The connection's byte stream: the socket, or TLS after the handshake (on
// the connection's thread, so a slow handshake never holds up accept).
std::unique_ptr<transport::ByteStream> Server::open_stream(int fd, const std::string& peer) {
  if (!ctx_.options.tls_key) return transport::plain_stream(fd);
  try {
    return transport::tls_server_stream(fd, *ctx_.options.tls_key, peer, kTlsHandshakeTimeoutMs);
  } catch (const Error& e) {
    log::warn("{}", e.what());
    return nullptr;
  }
}

// Joins finished connection threads; with `all`, first wakes every one by
// shutting its socket down.
void Server::reap(bool all) {
  if (all)
    for (auto& c : connections_) ::shutdown(c->fd, SHUT_RDWR);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!all && !(*it)->done) {
      ++it;
      continue;
    }
    (*it)->thread.join();
    ::close((*it)->fd);
    it = connections_.erase(it);
  }
}

}  // namespace nvmefs::target
