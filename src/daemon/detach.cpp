#include "detach.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "nvmefs/common/log.hpp"
#include "options.hpp"

namespace nvmefs::daemon {

Detach::Detach(bool foreground) {
  if (foreground) return;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "nvmefs: pipe: %s\n", std::strerror(errno));
    std::exit(kExitMount);
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "nvmefs: fork: %s\n", std::strerror(errno));
    std::exit(kExitMount);
  }
  if (child == 0) {
    ::close(fds[0]);
    notify_fd_ = fds[1];
    return;
  }
  ::close(fds[1]);
  char ok = 0;
  ssize_t n;
  do n = ::read(fds[0], &ok, 1);
  while (n < 0 && errno == EINTR);
  if (n == 1) std::_Exit(kExitOk);
  // The child exited (or crashed) without mounting: pass its verdict on.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : kExitMount);
}

void Detach::mounted() {
  if (notify_fd_ < 0) return;
  ::setsid();
  if (::chdir("/") != 0) log::debug("chdir /: {}", std::strerror(errno));
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  log::use_syslog("nvmefs");
  char ok = 0;
  if (::write(notify_fd_, &ok, 1) != 1) log::warn("cannot notify the parent process: {}", std::strerror(errno));
  ::close(notify_fd_);
  notify_fd_ = -1;
}

}  // namespace nvmefs::daemon
