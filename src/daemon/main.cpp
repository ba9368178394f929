// nvmefs: mounts the namespaces of an NVMe-oF subsystem as files.
// Order matters: parse, check the mount point, (fork to the background),
// connect, lock the namespaces, mount, open the control socket, detach,
// serve; on the way out the FUSE layer writes back and flushes every file,
// then the controllers are shut down. See --help for options and exit codes, docs/FS.md for the design.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "attach.hpp"
#include "control_commands.hpp"
#include "detach.hpp"
#include "live_updates.hpp"
#include "namespace_lock.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/control/protocol.hpp"
#include "nvmefs/fs/fuse_mount.hpp"
#include "options.hpp"
#include "stale_mount.hpp"

using namespace nvmefs;
using namespace nvmefs::daemon;

namespace {

constexpr auto kLockWait = std::chrono::seconds(30);

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "nvmefs: %s\n", msg.c_str());
  return code;
}

// Our write path serves page-cache write-back of loop devices and VMs:
// PR_SET_IO_FLUSHER keeps memory reclaim from recursing into this file system.
void become_io_flusher() {
  if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) log::debug("PR_SET_IO_FLUSHER: {}", std::strerror(errno));
}

// fusermount3 refuses allow_other for a non-root user unless /etc/fuse.conf
// says user_allow_other; say so before connecting, in one line.
bool fuse_conf_allows_other() {
  std::FILE* f = std::fopen("/etc/fuse.conf", "r");
  if (!f) return false;
  char line[256];
  bool found = false;
  while (!found && std::fgets(line, sizeof line, f)) {
    char word[32];
    found = std::sscanf(line, " %31s", word) == 1 && std::strcmp(word, "user_allow_other") == 0;
  }
  std::fclose(f);
  return found;
}

// The control socket for nvmefs-ctl. Without one the mount still works.
std::unique_ptr<control::ControlServer> start_control_server(const Config& cfg, const ServedSet& served) {
  auto dir = control::socket_dir();
  if (!dir) {
    log::warn("no control socket (XDG_RUNTIME_DIR is not set): nvmefs-ctl cannot reach this mount");
    return nullptr;
  }
  try {
    return std::make_unique<control::ControlServer>(control::socket_path(*dir, cfg.mountpoint),
                                                    make_control_handler(cfg, served));
  } catch (const Error& e) {
    log::warn("no control socket: {}", e.what());
    return nullptr;
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::block_termination_signals();
  Config cfg;
  try {
    cfg = parse_command_line(std::vector<std::string>(argv, argv + argc));
  } catch (const UsageError& e) {
    return fail(kExitUsage, e.what());
  }
  if (cfg.help) return std::fputs(help_text().c_str(), stdout), kExitOk;
  if (cfg.version) return std::printf("nvmefs %s\n", NVMEFS_VERSION), kExitOk;
  // A mount command is quiet on success: in the background only warnings reach the terminal.
  log::set_level(cfg.debug ? log::Level::Debug : cfg.foreground ? log::Level::Info : log::Level::Warn);

  // The mount point is checked before connecting, and made absolute (the daemon changes directory).
  char real[PATH_MAX];
  struct stat st{};
  try {
    detach_stale_mount(cfg.mountpoint);  // a killed daemon's mount answers ENOTCONN
  } catch (const Error& e) {
    return fail(kExitUsage, e.what());
  }
  if (!realpath(cfg.mountpoint.c_str(), real) || stat(real, &st) != 0)
    return fail(kExitUsage, "mount point '" + cfg.mountpoint + "': " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fail(kExitUsage, "mount point '" + cfg.mountpoint + "' is not a directory");
  cfg.mountpoint = real;
  if (cfg.fs.allow_other && ::getuid() != 0 && !fuse_conf_allows_other())
    return fail(kExitUsage, "allow_other: a non-root user needs 'user_allow_other' in /etc/fuse.conf");

  Detach detach(cfg.foreground);
  become_io_flusher();

  Attached attached;
  try {
    attached = attach(cfg);
  } catch (const Error& e) {
    return fail(kExitConnect, e.what());
  }

  ServedSet& served = *attached.served;
  std::unique_ptr<fs::FuseMount> mount;
  try {
    for (const auto& s : served.namespaces())
      s->lock = std::make_unique<NamespaceLock>(s->controller->info().subnqn, s->ns->nsid(), kLockWait);
    mount = std::make_unique<fs::FuseMount>(cfg.mountpoint, std::move(attached.root), cfg.fs);
  } catch (const Error& e) {
    return fail(kExitMount, e.what());
  }
  auto live = std::make_unique<LiveUpdates>(cfg, served, *mount);
  auto control = start_control_server(cfg, served);
  detach.mounted();
  if (!cfg.debug) log::set_level(log::Level::Info);
  log::info("mounted {} on {}", cfg.fs.fsname, cfg.mountpoint);

  int rc = mount->run();  // returns after unmount, write-back and flush
  live.reset();           // no tree change after this
  // Everything is written back and flushed: a new daemon for these
  // namespaces need not wait for this one to disconnect and exit.
  if (rc == 0)
    for (const auto& s : served.namespaces()) s->lock.reset();
  control.reset();        // removes the socket
  mount.reset();
  for (auto& ctrl : served.controllers()) ctrl->disconnect();
  if (rc < 0) {
    log::error("unmounted {}, but writing back cached data failed: {}", cfg.mountpoint, std::strerror(-rc));
    return kExitWriteback;
  }
  log::info("unmounted {}", cfg.mountpoint);
  return kExitOk;
}
