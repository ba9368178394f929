#include "inode_table.hpp"

#include <algorithm>

#include "nvmefs/common/error.hpp"

namespace nvmefs::fs {
namespace {

void check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos || name.size() > 255)
    throw Error("invalid file name '" + std::string(name) + "'");
}

}  // namespace

InodeTable::InodeTable(DirSpec root) {
  auto r = std::make_unique<Node>();
  r->is_dir = true;
  add_node(std::move(r), FUSE_ROOT_ID);
  for (auto& d : root.dirs) add_dir(d, FUSE_ROOT_ID);
  for (auto& f : root.files) {
    auto n = std::make_unique<Node>();
    n->name = f.name;
    n->file = std::move(f);
    add_node(std::move(n), FUSE_ROOT_ID);
  }
}

fuse_ino_t InodeTable::add_dir(DirSpec& dir, fuse_ino_t parent) {
  auto d = std::make_unique<Node>();
  d->name = dir.name;
  d->is_dir = true;
  fuse_ino_t ino = add_node(std::move(d), parent);
  for (auto& sub : dir.dirs) add_dir(sub, ino);
  for (auto& f : dir.files) {
    auto n = std::make_unique<Node>();
    n->name = f.name;
    n->file = std::move(f);
    add_node(std::move(n), ino);
  }
  return ino;
}

fuse_ino_t InodeTable::add_node(std::unique_ptr<Node> n, fuse_ino_t parent) {
  n->ino = nodes_.size() + 1;
  n->parent = parent;
  if (n->ino != FUSE_ROOT_ID) {
    check_name(n->name);
    if (!n->is_dir && !n->file.dev) throw Error("file '" + n->name + "' has no device");
    if (child(parent, n->name)) throw Error("duplicate name '" + n->name + "'");
    nodes_[parent - 1]->children.push_back(n->ino);
  }
  nodes_.push_back(std::move(n));
  return nodes_.back()->ino;
}

Node* InodeTable::get(fuse_ino_t ino) const {
  if (ino == 0 || ino > nodes_.size()) return nullptr;
  return nodes_[ino - 1].get();
}

Node* InodeTable::child(fuse_ino_t parent, std::string_view name) const {
  Node* p = get(parent);
  if (!p || !p->is_dir) return nullptr;
  for (fuse_ino_t c : p->children)
    if (nodes_[c - 1]->name == name) return nodes_[c - 1].get();
  return nullptr;
}

std::vector<Node*> InodeTable::files() const {
  std::vector<Node*> out;
  for (auto& n : nodes_)
    if (!n->is_dir) out.push_back(n.get());
  return out;
}

uint64_t InodeTable::total_bytes() const {
  uint64_t total = 0;
  for (auto& n : nodes_) total += n->size();
  return total;
}

}  // namespace nvmefs::fs
