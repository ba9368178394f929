// The inode table: every node of the served tree by inode number
// (FUSE_ROOT_ID = 1 is the root). The tree changes while mounted
// (namespaces appear, disappear, change size), so the table is behind a
// std::shared_mutex: lookup/getattr/readdir take it shared, add/remove/
// forget take it exclusively. The I/O hot path takes no table lock: an open
// handle holds a shared_ptr to its Node (and through it the device).
//
// Lifetime of a node (FUSE lookup-count protocol, fuse_lowlevel.h "forget"):
//  * every lookup reply the kernel received counts one reference (nlookup);
//    forget(ino, n) drops n of them;
//  * remove() unlinks a node (and a directory's subtree) from the tree at
//    once: its name no longer resolves and `removed` makes I/O on open
//    handles fail; the node stays reachable by inode number until the kernel
//    forgot it AND no handle is open, then the table drops it.
// Inode numbers come from a counter and are never reused, so a late request
// for a freed number finds nothing instead of another file.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nvmefs/fs/tree.hpp"

namespace nvmefs::fs {

struct Node {
  fuse_ino_t ino = 0;
  fuse_ino_t parent = 0;  // never changes
  std::string name;       // never changes
  bool is_dir = false;
  FileSpec file;  // files only

  std::atomic<bool> removed{false};   // set once, by InodeTable::remove (under the lock)
  std::atomic<uint64_t> nlookup{0};   // kernel references: lookup replies minus forgets
  std::atomic<uint32_t> opens{0};     // open handles (files only)
  std::atomic<uint32_t> writers{0};   // open handles with write access

  // Current device size (a relaxed atomic: the namespace may be resized).
  uint64_t size() const { return is_dir ? 0 : file.dev->info().size_bytes.load(); }

 private:
  friend class InodeTable;
  std::map<std::string, fuse_ino_t, std::less<>> children_;  // directories; guarded by the table lock
};

using NodeRef = std::shared_ptr<Node>;

class InodeTable {
 public:
  // Throws nvmefs::Error on an invalid or duplicate name, or a file without a device.
  explicit InodeTable(DirSpec root);

  // ---- readers (shared lock) ----
  NodeRef get(fuse_ino_t ino) const;  // live or removed-but-referenced; nullptr if unknown/freed
  // A lookup the kernel will be told about: counts one reference. nullptr if no such name.
  NodeRef lookup(fuse_ino_t parent, std::string_view name);
  // The node at `path` ("ns1", "dir/ns2"; "" = root) without counting a reference.
  NodeRef find(std::string_view path) const;

  struct DirEntry {
    std::string name;
    NodeRef node;
    off_t next;  // readdir offset of the entry after this one
  };
  // Directory entries after readdir offset `off`: "." (offset 1), ".." (2),
  // then children in inode order, a child's offset being ino + 2. Offsets are
  // stable while entries come and go, so a listing in several calls neither
  // repeats nor skips a surviving entry. A removed directory lists nothing
  // (as an rmdir'ed one). False if `dir` is not a directory (or unknown).
  bool list(fuse_ino_t dir, off_t off, std::vector<DirEntry>& out) const;

  std::vector<NodeRef> files() const;  // live files
  size_t size() const;                 // live nodes (root included)
  size_t held() const;                 // nodes still held, live or removed (tests)
  uint64_t total_bytes() const;        // sum of live file sizes

  // ---- reference counts ----
  void forget(fuse_ino_t ino, uint64_t n);  // frees a removed node once unreferenced
  void opened(Node& n) { n.opens.fetch_add(1, std::memory_order_relaxed); }
  void closed(const NodeRef& n);            // frees a removed node once unreferenced

  // ---- writers (exclusive lock) ----
  // What the kernel may have cached that add_file changed: the directory
  // `parent` gained entry `name` (the file itself, or the first directory
  // that had to be created on the way).
  struct Added {
    fuse_ino_t parent;
    std::string name;
    fuse_ino_t ino;  // the new file
  };
  // Adds `file` in directory `dir` ("" = root, "a/b" nested; missing
  // directories are created). Throws nvmefs::Error if a name is invalid, the
  // name exists, or a path component is a file.
  Added add_file(std::string_view dir, FileSpec file);

  struct Removed {
    fuse_ino_t parent;
    fuse_ino_t ino;
    std::string name;
  };
  // Removes the file or directory (with its subtree) at `path`. Returns the
  // removed entries children first (the order in which the kernel must be
  // told), empty if `path` does not exist or is the root.
  std::vector<Removed> remove(std::string_view path);

 private:
  NodeRef make_node(std::string name, bool is_dir, fuse_ino_t parent);  // lock held
  void add_tree(DirSpec& dir, fuse_ino_t ino);                          // constructor only
  fuse_ino_t link_file(FileSpec file, fuse_ino_t parent);               // lock held
  Node* find_locked(std::string_view path) const;
  void unlink_subtree(Node& n, std::vector<Removed>& out);  // lock held
  void maybe_free_locked(fuse_ino_t ino);

  mutable std::shared_mutex mu_;
  std::unordered_map<fuse_ino_t, NodeRef> nodes_;
  fuse_ino_t next_ino_ = FUSE_ROOT_ID;
  size_t live_ = 0;
};

}  // namespace nvmefs::fs
