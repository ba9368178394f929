#include "nvmefs/fs/fuse_mount.hpp"

#include <fuse_lowlevel.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "fs_state.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::fs {
namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// fsname is the mount source shown in /proc/mounts; libfuse splits options
// on ',' and unescapes '\', so escape both.
std::string escape_option(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string mount_option_string(const FsOptions& o) {
  std::string s = "fsname=" + escape_option(o.fsname) + ",subtype=nvmefs,max_read=" + std::to_string(kMaxIo);
  // The kernel checks permissions against the modes we report (uid=, gid=, umask=).
  s += ",default_permissions";
  if (o.allow_other) s += ",allow_other";
  if (o.read_only) s += ",ro";
  for (auto& extra : o.mount_options) s += "," + extra;
  return s;
}

void route_fuse_log(fuse_log_level level, const char* fmt, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, ap);
  std::string msg(line);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  if (level <= FUSE_LOG_ERR) log::error("{}", msg);
  else if (level <= FUSE_LOG_WARNING) log::warn("{}", msg);
  else log::debug("{}", msg);
}

// Waits for SIGTERM/SIGINT/SIGHUP (blocked everywhere) and turns one into a
// lazy unmount: the worker threads then see ENODEV and the loop ends once no
// file is open any more (a loop device keeps being served until detached).
class SignalWatcher {
 public:
  SignalWatcher(fuse_session* se, std::string mountpoint)
      : thread_([this, se, mp = std::move(mountpoint)] { watch(se, mp); }) {}
  ~SignalWatcher() {
    stop_ = true;
    thread_.join();
  }

 private:
  void watch(fuse_session* se, const std::string& mountpoint) {
    sigset_t set = termination_signals();
    timespec tick{0, 200 * 1000 * 1000};
    while (!stop_) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig <= 0) continue;
      log::info("{}: unmounting {}", strsignal(sig), mountpoint);
      // A lazy unmount detaches the mount point at once; files still open
      // (a loop device, a VM) keep being served until closed, then the
      // kernel ends the session and the loop returns. Only when we cannot
      // unmount (not root, already gone) do we end the loop ourselves.
      if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
        if (errno != EINVAL) log::error("unmount {}: {}", mountpoint, std::strerror(errno));
        fuse_session_exit(se);
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

void block_termination_signals() {
  sigset_t set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

FuseMount::FuseMount(const std::string& mountpoint, DirSpec root, const FsOptions& opts)
    : mountpoint_(mountpoint), state_(std::make_unique<FsState>(std::move(root), opts)) {
  struct stat st{};
  if (::stat(mountpoint.c_str(), &st) != 0)
    throw Error("mount point '" + mountpoint + "': " + std::strerror(errno), errno);
  if (!S_ISDIR(st.st_mode)) throw Error("mount point '" + mountpoint + "' is not a directory", ENOTDIR);

  fuse_set_log_func(route_fuse_log);
  std::string options = mount_option_string(opts);
  std::vector<const char*> argv = {"nvmefs", "-o", options.c_str()};
  if (opts.debug) argv.push_back("-d");
  fuse_args args = FUSE_ARGS_INIT(int(argv.size()), const_cast<char**>(argv.data()));
  session_ = fuse_session_new(&args, &lowlevel_ops(), sizeof(fuse_lowlevel_ops), state_.get());
  fuse_opt_free_args(&args);
  if (!session_) throw Error("cannot set up FUSE with options '" + options + "'", EINVAL);
  if (fuse_session_mount(session_, mountpoint.c_str()) != 0) {
    fuse_session_destroy(session_);
    session_ = nullptr;
    throw Error("cannot mount FUSE file system on '" + mountpoint + "'", EIO);
  }
  state_->notifier.attach(session_);
  log::debug("mounted on {} ({})", mountpoint, options);
}

FuseMount::~FuseMount() { teardown(); }

int FuseMount::run() {
  {
    SignalWatcher watcher(session_, mountpoint_);
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, state_->opts.max_threads);
    fuse_loop_cfg_set_idle_threads(cfg, std::max(2u, state_->opts.max_threads / 2));
    int rc = fuse_session_loop_mt(session_, cfg);
    fuse_loop_cfg_destroy(cfg);
    if (rc != 0) log::warn("FUSE session loop ended with {}", rc);
  }
  teardown();
  return state_->final_flush_result;
}

// Unmount (no-op when already unmounted), then destroy: the destroy handler
// waits for in-flight I/O and flushes every file.
void FuseMount::teardown() {
  if (!session_) return;
  state_->notifier.detach();  // waits for a notification being sent; later ones are dropped
  fuse_session_unmount(session_);
  fuse_session_destroy(session_);
  session_ = nullptr;
}

}  // namespace nvmefs::fs

namespace nvmefs::fs {

void FuseMount::add_file(const std::string& dir, FileSpec file) {
  std::string name = file.name;
  InodeTable::Added added = state_->inodes.add_file(dir, std::move(file));
  log::debug("added {}{}{} (inode {})", dir, dir.empty() ? "" : "/", name, added.ino);
  state_->notifier.entry_added(added.parent, added.name);  // table lock released
}

bool FuseMount::remove(const std::string& path) {
  std::vector<InodeTable::Removed> removed = state_->inodes.remove(path);
  if (removed.empty()) return false;
  log::debug("removed {} ({} entries)", path, removed.size());
  // Children first: the kernel refuses to delete a directory with cached children.
  for (auto& r : removed) state_->notifier.entry_deleted(r.parent, r.ino, r.name);
  return true;
}

bool FuseMount::size_changed(const std::string& path) {
  NodeRef n = state_->inodes.find(path);
  if (!n || n->is_dir) return false;
  log::debug("{}: size now {}", path, n->size());
  state_->notifier.inode_changed(n->ino);
  return true;
}

}  // namespace nvmefs::fs
