#include "mounts.hpp"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <iterator>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "nvmefs/common/error.hpp"
#include "nvmefs/control/protocol.hpp"

namespace nvmefs::ctl {
namespace {

// /proc/mounts writes ' ', '\t', '\n', '\\' as \040, \011, \012, \134.
std::string unescape_mount_field(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool octal = s[i] == '\\' && i + 3 < s.size();
    for (size_t k = 1; octal && k <= 3; ++k) octal = s[i + k] >= '0' && s[i + k] <= '7';
    if (octal) {
      out += char(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// An absolute path for `p`: realpath when it resolves (a dead FUSE mount does
// not: ENOTCONN), else made absolute lexically.
std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  if (!p.empty() && p[0] == '/') return p;
  char cwd[PATH_MAX];
  return std::string(::getcwd(cwd, sizeof cwd) ? cwd : ".") + "/" + p;
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::vector<MountEntry> nvmefs_mounts() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, target, type;
    if (fields >> source >> target >> type && type == "fuse.nvmefs")
      out.push_back({unescape_mount_field(source), unescape_mount_field(target)});
  }
  return out;
}

std::unique_ptr<control::ControlClient> connect_to_mount(const std::string& mountpoint) {
  std::string abs = absolute(mountpoint);
  auto dir = control::socket_dir();
  std::vector<std::string> candidates;
  if (dir) candidates.push_back(control::socket_path(*dir, abs));
  if (::geteuid() == 0) {  // root may also talk to the daemons of other users
    glob_t g{};
    if (::glob("/run/user/*/nvmefs", GLOB_ONLYDIR, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) candidates.push_back(control::socket_path(g.gl_pathv[i], abs));
    ::globfree(&g);
  }
  for (const auto& path : candidates)
    if (exists(path)) return std::make_unique<control::ControlClient>(path);
  bool mounted = false;
  for (const auto& m : nvmefs_mounts()) mounted |= m.mountpoint == abs;
  if (!dir) throw Error("XDG_RUNTIME_DIR is not set: cannot find the control sockets of this user");
  if (!mounted) throw Error(fmt::format("{} is not an nvmefs mount (no control socket at {})", abs, candidates[0]));
  throw Error(fmt::format("{} is an nvmefs mount but has no control socket at {}", abs, candidates[0]));
}

std::string human_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < std::size(units)) bytes /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

}  // namespace nvmefs::ctl
