#include "nvmefs/control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/control/protocol.hpp"

namespace nvmefs::control {

ControlClient::ControlClient(const std::string& path) : path_(path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("control socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw Error(fmt::format("socket: {}", std::strerror(errno)));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return;
  int err = errno;
  ::close(fd_);
  fd_ = -1;
  if (err == ENOENT) throw Error("no control socket at " + path, err);
  if (err == ECONNREFUSED) throw Error("no nvmefs daemon answers at " + path + " (stale socket?)", err);
  if (err == EACCES || err == EPERM) throw Error("permission denied: " + path, err);
  throw Error(fmt::format("cannot connect to {}: {}", path, std::strerror(err)), err);
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ControlClient::call_raw(std::string_view bytes, std::chrono::milliseconds timeout) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("{}: the daemon closed the connection ({})", path_, std::strerror(errno)));
    bytes.remove_prefix(size_t(n));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (size_t nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw Error(fmt::format("no reply from the daemon at {} within {} s", path_, timeout.count() / 1000), ETIMEDOUT);
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, int(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("{}: the daemon closed the connection without a reply", path_));
    pending_.append(chunk, size_t(n));
    if (pending_.size() > (16u << 20)) throw Error(path_ + ": reply too long");
  }
}

json::Value ControlClient::call(const json::Value& request, std::chrono::milliseconds timeout) {
  std::string line = call_raw(request.dump() + "\n", timeout);
  std::string err;
  auto reply = json::parse(line, err);
  if (!reply || !reply->is_object()) throw Error(fmt::format("{}: malformed reply from the daemon: {}", path_, err));
  if (reply->has("error")) throw Error(reply->get("error").as_string());
  return std::move(*reply);
}

}  // namespace nvmefs::control
