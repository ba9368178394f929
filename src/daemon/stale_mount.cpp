#include "stale_mount.hpp"

#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

extern char** environ;

namespace nvmefs::daemon {
namespace {

// stat alone is not enough: the kernel may answer it from cached attributes
// of the mount's root; statfs always asks the (dead) daemon.
bool is_dead(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOTCONN;
  struct statfs sfs{};
  return ::statfs(path.c_str(), &sfs) != 0 && errno == ENOTCONN;
}

// The absolute path of `p` without resolving its last component (resolving
// it is what fails with ENOTCONN): realpath(dirname) + "/" + basename.
std::string absolute_keeping_last(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
  const std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  char real[PATH_MAX];
  if (!::realpath(dir.c_str(), real)) return {};
  const std::string d = real;
  return d == "/" ? "/" + base : d + "/" + base;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += char(std::strtol(s.substr(i + 1, 3).c_str(), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// True if /proc/self/mountinfo lists a FUSE file system (type fuse, fuse.*,
// fuseblk) mounted on `path`.
bool fuse_mounted_on(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    std::istringstream f(line);
    std::string id, parent, dev, root, mp;
    if (!(f >> id >> parent >> dev >> root >> mp) || unescape(mp) != path) continue;
    const auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream t(line.substr(sep + 3));
    std::string type;
    t >> type;
    if (type == "fuse" || type == "fuseblk" || type.rfind("fuse.", 0) == 0) return true;
  }
  return false;
}

// fusermount3 -uz PATH (setuid root: a user may detach the mounts they own).
bool fusermount_detach(const std::string& path) {
  const char* argv[] = {"fusermount3", "-u", "-z", "--", path.c_str(), nullptr};
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

bool detach_stale_mount(const std::string& mountpoint) {
  if (!is_dead(mountpoint)) return false;
  const std::string path = absolute_keeping_last(mountpoint);
  bool detached = false;
  // Dead mounts can be stacked (a daemon killed again after a remount): peel them off.
  for (int i = 0; i < 8 && !path.empty() && is_dead(path) && fuse_mounted_on(path); ++i) {
    log::warn("mount point {}: the FUSE daemon of the mount there is gone (ENOTCONN); detaching that mount", path);
    std::string why = "fusermount3 -uz failed";
    if (::geteuid() == 0) why = ::umount2(path.c_str(), MNT_DETACH) == 0 ? "" : std::strerror(errno);
    else if (fusermount_detach(path)) why.clear();
    if (!why.empty())
      throw Error("mount point '" + mountpoint + "': a dead FUSE mount is there and cannot be detached: " + why);
    detached = true;
  }
  return detached;
}

}  // namespace nvmefs::daemon
