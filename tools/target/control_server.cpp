#include "control_server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control_commands.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::target {
namespace {

constexpr size_t kMaxLine = 8192;
constexpr int kClientIoTimeoutS = 5;    // a silent client cannot hold the control thread longer
constexpr int kReplyTimeoutS = 30;      // the client's wait for the target (opening large files)

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) throw Error(fmt::format("--control {}: path too long", path), ENAMETOOLONG);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Reads up to '\n'; false on timeout, EOF first or an overlong line.
bool read_line(int fd, std::string& line) {
  char buf[512];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    line.append(buf, size_t(n));
    if (auto nl = line.find('\n'); nl != std::string::npos) {
      line.resize(nl);
      return true;
    }
    if (line.size() > kMaxLine) return false;
  }
}

bool write_all(int fd, const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  size_t at = 0;
  while (at < line.size()) {
    size_t end = line.find(' ', at);
    if (end == std::string::npos) end = line.size();
    if (end > at) words.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return words;
}

// The option parser's errors end in " (see --help)": not useful over the socket.
std::string one_line(std::string msg) {
  const std::string suffix = " (see --help)";
  if (msg.size() >= suffix.size() && msg.compare(msg.size() - suffix.size(), suffix.size(), suffix) == 0)
    msg.resize(msg.size() - suffix.size());
  for (char& c : msg)
    if (c == '\n') c = ' ';
  return msg;
}

}  // namespace

ControlServer::ControlServer(TargetContext& ctx, std::string path) : ctx_(ctx), path_(std::move(path)) {
  const sockaddr_un addr = unix_address(path_);
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    const bool live = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) throw Error(fmt::format("--control {}: another target is listening there", path_), EADDRINUSE);
  }
  ::unlink(path_.c_str());  // a stale socket of a target that died
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 8) != 0) {
    int err = errno;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw Error(fmt::format("--control {}: {}", path_, std::strerror(err)), err);
  }
  ::chmod(path_.c_str(), 0600);  // namespaces are files of whoever runs the target
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
  log::info("control socket {}", path_);
}

ControlServer::~ControlServer() {
  uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) < 0) log::warn("control: cannot stop: {}", std::strerror(errno));
  thread_.join();
  ::close(stop_fd_);
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void ControlServer::run() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::error("control: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve_one(fd);
    ::close(fd);
  }
}

void ControlServer::serve_one(int fd) {
  set_timeouts(fd, kClientIoTimeoutS);
  std::string line;
  if (!read_line(fd, line)) {
    write_all(fd, "error no command line received\n");
    return;
  }
  std::string reply;
  try {
    reply = "ok " + one_line(run_control_command(ctx_, words_of(line))) + "\n";
  } catch (const std::exception& e) {
    log::warn("control: {}: {}", line, one_line(e.what()));
    reply = "error " + one_line(e.what()) + "\n";
  }
  write_all(fd, reply);
}

bool parse_control_client(int argc, char** argv, std::string& path, std::vector<std::string>& words) {
  int i = 1;
  if (i < argc && std::strncmp(argv[i], "--control=", 10) == 0) {
    path = argv[i] + 10;
    i += 1;
  } else if (i + 1 < argc && std::strcmp(argv[i], "--control") == 0) {
    path = argv[i + 1];
    i += 2;
  } else {
    return false;
  }
  if (i >= argc || std::strcmp(argv[i], "ctl") != 0) return false;
  words.assign(argv + i + 1, argv + argc);
  return true;
}

int control_client(const std::string& path, const std::vector<std::string>& words) {
  auto error = [](const std::string& msg) {
    std::fprintf(stderr, "nvmefs-target: %s\n", msg.c_str());
    return 1;
  };
  if (words.empty()) return error("ctl: missing command (ns-add, ns-remove, ns-resize, subsys-add, subsys-remove)");
  std::string line;
  for (const auto& w : words) {
    if (w.empty() || w.find_first_of(" \t\r\n") != std::string::npos)
      return error(fmt::format("ctl: argument '{}' is empty or contains white space", w));
    line += (line.empty() ? "" : " ") + w;
  }
  sockaddr_un addr;
  try {
    addr = unix_address(path);
  } catch (const Error& e) {
    return error(e.what());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return error(fmt::format("cannot reach control socket {}: {}", path, std::strerror(err)));
  }
  set_timeouts(fd, kReplyTimeoutS);
  std::string reply;
  const bool ok = write_all(fd, line + "\n") && read_line(fd, reply);
  ::close(fd);
  if (!ok) return error(fmt::format("no reply on control socket {}", path));
  if (reply.rfind("ok", 0) == 0) {
    std::printf("%s\n", reply.size() > 3 ? reply.c_str() + 3 : "ok");
    return 0;
  }
  return error(reply.rfind("error ", 0) == 0 ? reply.substr(6) : reply);
}

}  // namespace nvmefs::target
