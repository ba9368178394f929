// The inode table: the static tree flattened into nodes indexed by inode
// number (FUSE_ROOT_ID = 1 is the root). Built once before mounting and
// never changed, so lookups need no lock; only the per-file writer count
// is mutable (atomic).
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

#include "nvmefs/fs/tree.hpp"

namespace nvmefs::fs {

struct Node {
  fuse_ino_t ino = 0;
  fuse_ino_t parent = 0;
  std::string name;
  bool is_dir = false;
  std::vector<fuse_ino_t> children;  // directories only, in tree order
  FileSpec file;                     // files only
  std::atomic<uint32_t> writers{0};  // open file handles with write access

  uint64_t size() const { return is_dir ? 0 : file.dev->info().size_bytes.load(); }
};

class InodeTable {
 public:
  // Throws nvmefs::Error on an invalid or duplicate name.
  explicit InodeTable(DirSpec root);

  Node* get(fuse_ino_t ino) const;                           // nullptr if unknown
  Node* child(fuse_ino_t parent, std::string_view name) const;  // nullptr if none
  std::vector<Node*> files() const;
  size_t size() const { return nodes_.size(); }
  uint64_t total_bytes() const;

 private:
  fuse_ino_t add_dir(DirSpec& dir, fuse_ino_t parent);
  fuse_ino_t add_node(std::unique_ptr<Node> n, fuse_ino_t parent);

  std::vector<std::unique_ptr<Node>> nodes_;  // nodes_[ino - 1]
};

}  // namespace nvmefs::fs
