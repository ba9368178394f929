// What the FUSE layer serves: a static tree of directories and fixed-size
// regular files, each file backed by a BlockDevice that accepts any byte
// offset and length (in nvmefs: a cache::BlockCache over a namespace). The
// FUSE layer knows nothing else about where the bytes come from.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nvmefs/block_device.hpp"

namespace nvmefs::fs {

struct FileSpec {
  std::string name;                  // e.g. "ns1"; no '/', not "." or ".."
  std::shared_ptr<BlockDevice> dev;  // byte-granular (info().block_size may be 1)
  uint32_t lba_size = 512;           // reported as st_blksize (at least 4096); aligns hole punching
  bool read_only = false;            // write-protected namespace: open for write fails with EROFS
  // Extended attributes shown by listxattr/getxattr, e.g. {"user.nvme.nsid", "1"}. Read-only.
  std::vector<std::pair<std::string, std::string>> xattrs;
};

struct DirSpec {
  std::string name;  // ignored for the root
  std::vector<DirSpec> dirs;
  std::vector<FileSpec> files;
};

struct FsOptions {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t umask = 022;         // files 0666 & ~umask, directories 0777 & ~umask
  bool read_only = false;     // the whole mount (also passed to the kernel as "ro")
  bool allow_other = false;
  bool kernel_cache = false;  // use the page cache (keep_cache) instead of FOPEN_DIRECT_IO
  bool debug = false;         // libfuse debug output (-d)
  std::string fsname = "nvmefs";
  std::vector<std::string> mount_options;  // more kernel mount options ("noatime", "nosuid", ...)
  unsigned max_threads = 16;               // FUSE worker threads (replies of I/O come from completions)
};

}  // namespace nvmefs::fs
