#include "nvmefs/control/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/control/protocol.hpp"

namespace nvmefs::control {
namespace {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("control socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void make_private_dir(const std::string& dir) {
  // The parent (/run/nvmefs or $XDG_RUNTIME_DIR) may be shared; the socket directory is ours alone.
  std::string parent = dir.substr(0, dir.rfind('/'));
  if (!parent.empty() && ::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create {}: {}", parent, std::strerror(errno)));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create {}: {}", dir, std::strerror(errno)));
}

// A socket file left by a daemon that died is removed; one that answers is not ours to take.
void remove_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) throw Error(path + " exists and is not a socket");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool live = fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) ::close(fd);
  if (live) throw Error("another nvmefs daemon already answers at " + path);
  ::unlink(path.c_str());
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

std::string error_line(std::string_view what) {
  json::Value v = json::Value::object();
  v.set("error", what);
  return v.dump();
}

bool peer_allowed(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == 0 || cred.uid == ::geteuid();
}

}  // namespace

ControlServer::ControlServer(std::string path, Handler handler) : path_(std::move(path)), handler_(std::move(handler)) {
  sockaddr_un addr = unix_address(path_);
  make_private_dir(path_.substr(0, path_.rfind('/')));
  remove_stale_socket(path_, addr);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw Error(fmt::format("control socket: {}", std::strerror(errno)));
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path_.c_str(), 0600) != 0 || ::listen(listen_fd_, 16) != 0 || ::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw Error(fmt::format("control socket {}: {}", path_, std::strerror(err)));
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

ControlServer::~ControlServer() {
  char stop = 1;
  if (::write(wake_pipe_[1], &stop, 1) != 1) log::warn("control socket: cannot stop the accept thread");
  acceptor_.join();
  ::unlink(path_.c_str());
  ::close(listen_fd_);
  std::lock_guard lock(conn_mutex_);
  for (auto& c : connections_) ::shutdown(c.fd, SHUT_RDWR);  // ends reads; a running command finishes first
  for (auto& c : connections_) {
    c.thread.join();
    ::close(c.fd);
  }
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void ControlServer::reap_finished() {
  std::lock_guard lock(conn_mutex_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->finished.load()) {
      ++it;
      continue;
    }
    it->thread.join();
    ::close(it->fd);
    it = connections_.erase(it);
  }
}

void ControlServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, 1000) < 0 && errno != EINTR) {
      log::error("control socket: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    reap_finished();
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (!peer_allowed(fd)) {
      send_all(fd, error_line("permission denied: only the daemon's user and root may use this socket") + "\n");
      ::close(fd);
      continue;
    }
    std::lock_guard lock(conn_mutex_);
    if (connections_.size() >= kMaxConnections) {
      send_all(fd, error_line("too many control connections; try again") + "\n");
      ::close(fd);
      continue;
    }
    timeval tv{std::chrono::duration_cast<std::chrono::seconds>(kIdleTimeout).count(), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    Connection& c = connections_.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, &c] { serve(c); });
  }
}

std::string ControlServer::answer(const Handler& handler, std::string_view line) {
  std::string err;
  auto req = json::parse(line, err);
  if (!req) return error_line("malformed request: " + err);
  if (!req->is_object() || !req->get("cmd").is_string())
    return error_line("malformed request: expected an object with a string \"cmd\"");
  try {
    json::Value reply = handler(*req);
    if (!reply.has("error") && !reply.has("ok")) reply.set("ok", true);
    return reply.dump();
  } catch (const std::exception& e) {
    return error_line(e.what());
  }
}

void ControlServer::serve(Connection& c) {
  std::string buf;
  char chunk[1024];
  for (bool open = true; open;) {
    ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    open = n > 0;  // EOF, idle timeout or shutdown: answer what is complete, then stop
    if (open) buf.append(chunk, size_t(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos || (!open && !buf.empty())) {
      size_t len = nl == std::string::npos ? buf.size() : nl;
      std::string line = buf.substr(0, len);
      buf.erase(0, nl == std::string::npos ? buf.size() : nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string reply = line.size() > kMaxRequest
                              ? error_line(fmt::format("request longer than {} bytes", kMaxRequest))
                              : answer(handler_, line);
      if (line.size() > kMaxRequest || !send_all(c.fd, reply + "\n")) {
        if (line.size() > kMaxRequest) send_all(c.fd, reply + "\n");
        open = false;
        buf.clear();
      }
    }
    if (buf.size() > kMaxRequest) {
      send_all(c.fd, error_line(fmt::format("request longer than {} bytes", kMaxRequest)) + "\n");
      break;
    }
  }
  c.finished.store(true);
}

}  // namespace nvmefs::control
