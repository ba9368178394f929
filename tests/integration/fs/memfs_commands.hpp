// Drives FuseMount::add_file/remove/size_changed from a thread of its own
// (like the daemon's event thread), with commands read from a FIFO:
//   add PATH SIZE | remove PATH | resize PATH SIZE
// Each command's outcome is appended as one line to FIFO.ack, so a test
// script knows when it was applied (the kernel has been notified).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "../../support/memory_device.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/fs/fuse_mount.hpp"

namespace nvmefs::testing {

class MemfsCommands {
 public:
  MemfsCommands(fs::FuseMount& mount, const std::string& fifo) : mount_(mount), ack_path_(fifo + ".ack") {
    // O_RDWR: the FIFO never reports EOF when a writer closes it.
    fd_ = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) throw Error("commands FIFO '" + fifo + "': " + std::strerror(errno));
    thread_ = std::thread([this] { run(); });
  }
  ~MemfsCommands() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  MemfsCommands(const MemfsCommands&) = delete;
  MemfsCommands& operator=(const MemfsCommands&) = delete;

 private:
  void run() {
    std::string pending;
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) continue;
      pending.append(buf, size_t(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
        acknowledge(pending.substr(0, nl));
    }
  }

  void acknowledge(const std::string& line) {
    std::string result;
    try {
      result = "ok " + execute(line);
    } catch (const std::exception& e) {
      result = "error " + line + ": " + e.what();
    }
    std::ofstream(ack_path_, std::ios::app) << result << "\n" << std::flush;
  }

  static std::pair<std::string, std::string> split_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {"", path};
    return {path.substr(0, slash), path.substr(slash + 1)};
  }

  std::string execute(const std::string& line) {
    std::istringstream in(line);
    std::string verb, path;
    uint64_t size = 0;
    in >> verb >> path;
    if (verb == "add" && (in >> size)) {
      auto mem = std::make_shared<MemoryDevice>(size, 1, std::chrono::microseconds(20));
      auto [dir, name] = split_dir(path);
      fs::FileSpec f;
      f.name = name;
      f.dev = mem;
      f.xattrs = {{"user.nvme.model", "memfs dynamic device"}};
      mount_.add_file(dir, std::move(f));
      added_[path] = mem;
    } else if (verb == "remove") {
      if (!mount_.remove(path)) throw Error("no such entry");
      for (auto it = added_.begin(); it != added_.end();)  // the mount keeps the devices of open handles
        it = it->first == path || it->first.rfind(path + "/", 0) == 0 ? added_.erase(it) : std::next(it);
    } else if (verb == "resize" && (in >> size)) {
      auto it = added_.find(path);
      if (it == added_.end()) throw Error("not a file added by 'add'");
      it->second->resize(size);
      if (!mount_.size_changed(path)) throw Error("size_changed: no such file");
    } else {
      throw Error("bad command");
    }
    return line;
  }

  fs::FuseMount& mount_;
  std::string ack_path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::map<std::string, std::shared_ptr<MemoryDevice>> added_;
  std::thread thread_;
};

}  // namespace nvmefs::testing
