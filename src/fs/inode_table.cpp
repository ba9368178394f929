#include "inode_table.hpp"

#include <algorithm>
#include <mutex>

#include "nvmefs/common/error.hpp"

namespace nvmefs::fs {
namespace {

void check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos || name.size() > 255)
    throw Error("invalid file name '" + std::string(name) + "'", EINVAL);
}

// "a/b//c/" -> {"a", "b", "c"}; "" -> {}.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

bool removable(const Node& n) {
  return n.removed.load(std::memory_order_relaxed) && n.nlookup.load(std::memory_order_relaxed) == 0 &&
         n.opens.load(std::memory_order_relaxed) == 0;
}

}  // namespace

InodeTable::InodeTable(DirSpec root) {
  make_node("", true, 0);
  add_tree(root, FUSE_ROOT_ID);
}

NodeRef InodeTable::make_node(std::string name, bool is_dir, fuse_ino_t parent) {
  auto n = std::make_shared<Node>();
  n->ino = next_ino_++;
  n->parent = parent;
  n->name = std::move(name);
  n->is_dir = is_dir;
  if (parent) nodes_.at(parent)->children_.emplace(n->name, n->ino);
  nodes_.emplace(n->ino, n);
  ++live_;
  return n;
}

void InodeTable::add_tree(DirSpec& dir, fuse_ino_t ino) {
  for (auto& sub : dir.dirs) {
    check_name(sub.name);
    if (nodes_.at(ino)->children_.count(sub.name)) throw Error("duplicate name '" + sub.name + "'", EEXIST);
    add_tree(sub, make_node(sub.name, true, ino)->ino);
  }
  for (auto& f : dir.files) link_file(std::move(f), ino);
}

fuse_ino_t InodeTable::link_file(FileSpec file, fuse_ino_t parent) {
  check_name(file.name);
  if (!file.dev) throw Error("file '" + file.name + "' has no device", EINVAL);
  if (nodes_.at(parent)->children_.count(file.name)) throw Error("duplicate name '" + file.name + "'", EEXIST);
  std::string name = file.name;
  NodeRef n = make_node(std::move(name), false, parent);
  n->file = std::move(file);
  return n->ino;
}

NodeRef InodeTable::get(fuse_ino_t ino) const {
  std::shared_lock lk(mu_);
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second;
}

NodeRef InodeTable::lookup(fuse_ino_t parent, std::string_view name) {
  std::shared_lock lk(mu_);
  auto p = nodes_.find(parent);
  if (p == nodes_.end() || !p->second->is_dir) return nullptr;
  auto c = p->second->children_.find(name);
  if (c == p->second->children_.end()) return nullptr;
  const NodeRef& n = nodes_.at(c->second);
  // Counted under the lock: remove() cannot free it between find and count.
  n->nlookup.fetch_add(1, std::memory_order_relaxed);
  return n;
}

Node* InodeTable::find_locked(std::string_view path) const {
  Node* n = nodes_.at(FUSE_ROOT_ID).get();
  for (std::string_view part : split_path(path)) {
    if (!n->is_dir) return nullptr;
    auto c = n->children_.find(part);
    if (c == n->children_.end()) return nullptr;
    n = nodes_.at(c->second).get();
  }
  return n;
}

NodeRef InodeTable::find(std::string_view path) const {
  std::shared_lock lk(mu_);
  Node* n = find_locked(path);
  return n ? nodes_.at(n->ino) : nullptr;
}

bool InodeTable::list(fuse_ino_t dir, off_t off, std::vector<DirEntry>& out) const {
  std::shared_lock lk(mu_);
  auto d = nodes_.find(dir);
  if (d == nodes_.end() || !d->second->is_dir) return false;
  const NodeRef& self = d->second;
  if (self->removed.load(std::memory_order_relaxed)) return true;  // like an rmdir'ed directory: empty
  if (off < 1) out.push_back({".", self, 1});
  if (off < 2) {
    auto p = nodes_.find(self->parent);
    out.push_back({"..", p == nodes_.end() ? self : p->second, 2});
  }
  size_t first = out.size();
  for (auto& [name, ino] : self->children_)
    if (off_t(ino + 2) > off) out.push_back({name, nodes_.at(ino), off_t(ino + 2)});
  std::sort(out.begin() + ptrdiff_t(first), out.end(), [](auto& a, auto& b) { return a.next < b.next; });
  return true;
}

std::vector<NodeRef> InodeTable::files() const {
  std::shared_lock lk(mu_);
  std::vector<NodeRef> out;
  for (auto& [ino, n] : nodes_)
    if (!n->is_dir && !n->removed.load(std::memory_order_relaxed)) out.push_back(n);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a->ino < b->ino; });
  return out;
}

size_t InodeTable::size() const {
  std::shared_lock lk(mu_);
  return live_;
}

size_t InodeTable::held() const {
  std::shared_lock lk(mu_);
  return nodes_.size();
}

uint64_t InodeTable::total_bytes() const {
  std::shared_lock lk(mu_);
  uint64_t total = 0;
  for (auto& [ino, n] : nodes_)
    if (!n->removed.load(std::memory_order_relaxed)) total += n->size();
  return total;
}

void InodeTable::maybe_free_locked(fuse_ino_t ino) {
  auto it = nodes_.find(ino);
  if (it != nodes_.end() && removable(*it->second)) nodes_.erase(it);
}

void InodeTable::forget(fuse_ino_t ino, uint64_t n) {
  if (ino == FUSE_ROOT_ID) return;  // the root is never forgotten (fuse_lowlevel.h)
  std::unique_lock lk(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  // Never below zero, even if the kernel forgets more than we counted.
  uint64_t have = it->second->nlookup.load(std::memory_order_relaxed);
  it->second->nlookup.store(have - std::min(have, n), std::memory_order_relaxed);
  maybe_free_locked(ino);
}

void InodeTable::closed(const NodeRef& n) {
  if (n->opens.fetch_sub(1, std::memory_order_acq_rel) != 1 || !n->removed.load(std::memory_order_acquire)) return;
  std::unique_lock lk(mu_);
  auto it = nodes_.find(n->ino);
  if (it != nodes_.end() && it->second == n) maybe_free_locked(n->ino);
}

InodeTable::Added InodeTable::add_file(std::string_view dir, FileSpec file) {
  check_name(file.name);
  std::vector<std::string_view> parts = split_path(dir);
  for (auto part : parts) check_name(part);
  if (!file.dev) throw Error("file '" + file.name + "' has no device", EINVAL);

  std::unique_lock lk(mu_);
  fuse_ino_t parent = FUSE_ROOT_ID;
  size_t existing = 0;  // leading components that exist
  for (; existing < parts.size(); ++existing) {
    Node& p = *nodes_.at(parent);
    auto c = p.children_.find(parts[existing]);
    if (c == p.children_.end()) break;
    if (!nodes_.at(c->second)->is_dir)
      throw Error("'" + std::string(parts[existing]) + "' in '" + std::string(dir) + "' is a file", ENOTDIR);
    parent = c->second;
  }
  if (existing == parts.size() && nodes_.at(parent)->children_.count(file.name))
    throw Error("'" + std::string(dir) + (dir.empty() ? "" : "/") + file.name + "' exists", EEXIST);
  // The kernel only knows the first new entry; what is below it is new to it too.
  Added added{parent, existing < parts.size() ? std::string(parts[existing]) : file.name, 0};
  for (size_t i = existing; i < parts.size(); ++i) parent = make_node(std::string(parts[i]), true, parent)->ino;
  added.ino = link_file(std::move(file), parent);
  return added;
}

void InodeTable::unlink_subtree(Node& n, std::vector<Removed>& out) {
  if (n.is_dir) {
    for (auto& [name, ino] : n.children_) unlink_subtree(*nodes_.at(ino), out);
    n.children_.clear();
  }
  n.removed.store(true, std::memory_order_release);
  --live_;
  out.push_back({n.parent, n.ino, n.name});
}

std::vector<InodeTable::Removed> InodeTable::remove(std::string_view path) {
  std::vector<Removed> out;
  std::unique_lock lk(mu_);
  Node* n = find_locked(path);
  if (!n || n->ino == FUSE_ROOT_ID) return out;
  nodes_.at(n->parent)->children_.erase(n->name);
  unlink_subtree(*n, out);
  for (auto& r : out) maybe_free_locked(r.ino);
  return out;
}

}  // namespace nvmefs::fs
