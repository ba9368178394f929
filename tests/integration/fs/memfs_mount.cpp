// Test program: mounts the FUSE layer over in-memory devices, without any
// NVMe. Used by memfs_mount.sh.
//
//   memfs_mount MOUNTPOINT DUMPDIR [-o ro] [-o kernel_cache] [-o cache=MODE] [-o commands=FIFO]
//
// Tree:  ns1      64 MiB, LBA 512, completes on a worker thread (async path)
//        ns2      16 MiB, LBA 4096, completes inline
//        sub/ns3   1 MiB, write-protected namespace
// After unmount, writes DUMPDIR/<name>.img (device bytes) and
// DUMPDIR/<name>.stats ("flushes=N writes=N zeroes=N deallocates=N").
//
// commands=FIFO changes the tree while mounted, as the daemon does when
// namespaces come and go (memfs_commands.hpp): one command per line,
//   add PATH SIZE      new file (in-memory device, byte-granular), missing dirs created
//   remove PATH        file or directory
//   resize PATH SIZE   a file added by `add` changes size
// and one line per command is appended to FIFO.ack: "ok ..." or "error ...".
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "../../support/memory_device.hpp"
#include "memfs_commands.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/fs/fuse_mount.hpp"
#ifdef NVMEFS_HAVE_CACHE
#include "nvmefs/cache/block_cache.hpp"
#endif

using namespace nvmefs;

namespace {

struct TestFile {
  std::string path;  // relative to the root
  std::shared_ptr<testing::MemoryDevice> mem;
};

// The FUSE layer needs byte-granular devices: the block cache when it is
// built, otherwise a MemoryDevice with 1-byte blocks stands in for it.
#ifdef NVMEFS_HAVE_CACHE
constexpr bool kHaveCache = true;
#else
constexpr bool kHaveCache = false;
#endif

std::shared_ptr<testing::MemoryDevice> memory(uint64_t size, uint32_t lba, std::chrono::microseconds delay = {}) {
  return std::make_shared<testing::MemoryDevice>(size, kHaveCache ? lba : 1, delay);
}

std::shared_ptr<BlockDevice> byte_device(std::shared_ptr<testing::MemoryDevice> mem, const std::string& mode) {
#ifdef NVMEFS_HAVE_CACHE
  cache::CacheOptions co;
  if (!cache::parse_mode(mode, co.mode)) throw Error("bad cache mode '" + mode + "'");
  co.cache_size = 8 << 20;
  co.cache_block = 64 << 10;
  return std::shared_ptr<BlockDevice>(cache::make_block_cache(mem, co));
#else
  (void)mode;
  return mem;
#endif
}

fs::FileSpec file(const std::string& name, uint32_t nsid, std::shared_ptr<testing::MemoryDevice> mem,
                  uint32_t lba, const std::string& mode) {
  fs::FileSpec f;
  f.name = name;
  f.lba_size = lba;
  f.dev = byte_device(mem, mode);
  f.xattrs = {{"user.nvme.nsid", std::to_string(nsid)},
              {"user.nvme.lba_size", std::to_string(lba)},
              {"user.nvme.model", "memfs test device"}};
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  fs::block_termination_signals();
  if (argc < 3) {
    std::fprintf(stderr, "usage: memfs_mount MOUNTPOINT DUMPDIR [-o ro|kernel_cache|cache=MODE]...\n");
    return 1;
  }
  std::string mountpoint = argv[1], dumpdir = argv[2], mode = "writethrough", commands;
  fs::FsOptions opts;
  opts.uid = getuid();
  opts.gid = getgid();
  opts.fsname = "memfs";
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string o = argv[i + 1];
    if (o == "ro") opts.read_only = true;
    else if (o == "kernel_cache") opts.kernel_cache = true;
    else if (o == "allow_other") opts.allow_other = true;
    else if (o.rfind("cache=", 0) == 0) mode = o.substr(6);
    else if (o.rfind("umask=", 0) == 0) opts.umask = mode_t(std::stoul(o.substr(6), nullptr, 8));
    else if (o == "debug") opts.debug = true;
    else if (o.rfind("commands=", 0) == 0) commands = o.substr(9);
    else { std::fprintf(stderr, "memfs_mount: unknown option '%s'\n", o.c_str()); return 1; }
  }
  log::set_level(opts.debug ? log::Level::Debug : log::Level::Info);

  std::vector<TestFile> files = {
      {"ns1", memory(64 << 20, 512, std::chrono::microseconds(50))},
      {"ns2", memory(16 << 20, 4096)},
      {"sub/ns3", memory(1 << 20, 512)},
  };
  int rc = 0;
  try {
    fs::DirSpec root;
    root.files.push_back(file("ns1", 1, files[0].mem, 512, mode));
    root.files.push_back(file("ns2", 2, files[1].mem, 4096, mode));
    fs::DirSpec sub{"sub", {}, {file("ns3", 3, files[2].mem, 512, mode)}};
    sub.files[0].read_only = true;
    root.dirs.push_back(std::move(sub));
    fs::FuseMount m(mountpoint, std::move(root), opts);
    std::unique_ptr<testing::MemfsCommands> live;
    if (!commands.empty()) live = std::make_unique<testing::MemfsCommands>(m, commands);
    rc = m.run();
    live.reset();  // stops the command thread before the mount goes away
  } catch (const Error& e) {
    std::fprintf(stderr, "memfs_mount: %s\n", e.what());
    return 1;
  }
  for (auto& f : files) {
    std::string base = dumpdir + "/" + f.path.substr(f.path.rfind('/') + 1);
    std::ofstream(base + ".img", std::ios::binary)
        .write(reinterpret_cast<const char*>(f.mem->bytes().data()), std::streamsize(f.mem->bytes().size()));
    std::ofstream(base + ".stats") << "flushes=" << f.mem->flushes << " writes=" << f.mem->writes
                                   << " zeroes=" << f.mem->zeroes << " deallocates=" << f.mem->deallocates << "\n";
  }
  return rc == 0 ? 0 : 4;
}
