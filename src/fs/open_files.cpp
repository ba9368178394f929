#include "open_files.hpp"

namespace nvmefs::fs {

OpenFile* OpenFiles::open(NodeRef node, bool writer) {
  auto* f = new OpenFile;
  f->node = std::move(node);
  f->writer = writer;
  table_.opened(*f->node);
  if (writer) f->node->writers.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lk(mu_);
  f->next_ = head_;
  if (head_) head_->prev_ = f;
  head_ = f;
  return f;
}

void OpenFiles::close(OpenFile* f) {
  {
    std::lock_guard lk(mu_);
    if (f->prev_) f->prev_->next_ = f->next_;
    else head_ = f->next_;
    if (f->next_) f->next_->prev_ = f->prev_;
  }
  if (f->writer) f->node->writers.fetch_sub(1, std::memory_order_relaxed);
  table_.closed(f->node);
  delete f;
}

size_t OpenFiles::close_all() {
  for (size_t closed = 0;; ++closed) {
    OpenFile* f;
    {
      std::lock_guard lk(mu_);
      f = head_;
    }
    if (!f) return closed;
    close(f);
  }
}

}  // namespace nvmefs::fs
