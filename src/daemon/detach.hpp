// Running in the background with an honest exit code: the process forks
// before anything else (the initiator starts threads, which a later fork
// would lose); the parent waits until the child reports that the mount
// succeeded, then exits 0, or exits with the child's exit code if the
// child fails first. Error lines printed by the child before it detaches
// reach the user's terminal.
#pragma once

namespace nvmefs::daemon {

class Detach {
 public:
  // In the foreground: does nothing. In the background: forks; only the
  // child returns.
  explicit Detach(bool foreground);
  // The mount is up: release the parent with exit code 0, start a new
  // session, point stdio to /dev/null and log to syslog. No-op in the foreground.
  void mounted();

 private:
  int notify_fd_ = -1;
};

}  // namespace nvmefs::daemon
