// Open file handles (fuse_file_info::fh). A handle holds its node, and so
// the device, by shared_ptr: read/write on it touch no table lock and keep
// working objects even after the file was removed (they then fail with EIO).
// Handles are also kept in a list so that those the kernel never released
// (the session ended with files open) are freed when the session is destroyed.
#pragma once

#include <fuse_lowlevel.h>

#include <mutex>

#include "inode_table.hpp"

namespace nvmefs::fs {

struct OpenFile {
  NodeRef node;
  bool writer = false;

 private:
  friend class OpenFiles;
  OpenFile* prev_ = nullptr;
  OpenFile* next_ = nullptr;
};

inline OpenFile& open_file(const fuse_file_info* fi) { return *reinterpret_cast<OpenFile*>(fi->fh); }

class OpenFiles {
 public:
  explicit OpenFiles(InodeTable& table) : table_(table) {}
  ~OpenFiles() { close_all(); }
  OpenFiles(const OpenFiles&) = delete;
  OpenFiles& operator=(const OpenFiles&) = delete;

  // Counts an open of `node` (and a writer when `writer`).
  OpenFile* open(NodeRef node, bool writer);
  // Undoes open(): drops the counts (the table may free a removed node) and deletes `f`.
  void close(OpenFile* f);
  // Closes every handle still open (the destroy path); returns how many.
  size_t close_all();

 private:
  InodeTable& table_;
  std::mutex mu_;  // the list only; open/close are not on the I/O path
  OpenFile* head_ = nullptr;
};

}  // namespace nvmefs::fs
