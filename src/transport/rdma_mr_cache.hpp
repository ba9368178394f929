// Registration cache for the data buffers of large NVMe/RDMA transfers:
// opt-in zero-copy (RdmaParams::registration_cache_bytes; the default copies
// through pre-registered memory, see rdma_queue_pair.cpp).
//
// ibv_reg_mr costs a system call plus page pinning, far more than one I/O, so
// registering per command is out; a buffer the process reuses is registered
// once (its page-aligned range) and its rkey handed out again.
//
// Caveat of every user-space registration cache, and why it is not the
// default: an entry pins the pages it was registered with. If the owner
// unmaps a buffer and new memory appears at the same address while the entry
// is cached, transfers hit the old pages (silent data loss). Only callers
// whose buffers stay mapped while the connection lives may enable it.
// Entries are bounded (LRU, `max_bytes` pinned, entries in use never evicted).
//
// Thread-safe (one mutex, held only for lookups/updates, never across a call
// into the registrar except on a miss).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>

namespace nvmefs::transport::rdma {

struct MrKeys {
  uint32_t lkey = 0;
  uint32_t rkey = 0;
};

// Registers memory for local write and remote read/write (verbs, or a fake in tests).
class Registrar {
 public:
  virtual ~Registrar() = default;
  // Returns an opaque handle, or nullptr with errno set.
  virtual void* reg(void* addr, size_t len, MrKeys& keys) = 0;
  virtual void dereg(void* handle) = 0;
};

class MrCache {
 public:
  struct Entry {
    uintptr_t start = 0, end = 0;  // page-aligned [start, end)
    MrKeys keys;
    void* handle = nullptr;
    unsigned refs = 0;             // commands using it
    bool indexed = true;           // false: replaced or invalidated; deregistered at refs 0
  };

  MrCache(Registrar& registrar, size_t max_bytes, size_t page_size = 4096);
  ~MrCache();  // deregisters everything (no entry may be in use)
  MrCache(const MrCache&) = delete;
  MrCache& operator=(const MrCache&) = delete;

  // A registration covering [addr, addr + len), taken for one command
  // (release() it at the completion). nullptr with errno when registering fails.
  Entry* acquire(const void* addr, size_t len);
  void release(Entry* e);
  // Deregisters every entry (none may be in use); the cache stays usable.
  void clear();
  // The remote side invalidated this entry's rkey: never hand it out again.
  void invalidate(Entry* e);

  size_t registered_bytes() const;
  size_t size() const;  // entries still registered (indexed or in use)

 private:
  void drop(std::list<Entry>::iterator it);  // under mu_: deregister and forget
  void unindex(Entry& e);                    // under mu_
  void evict_over_limit();                   // under mu_

  Registrar& registrar_;
  const size_t max_bytes_;
  const uintptr_t page_mask_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;                                    // most recently used first
  std::map<uintptr_t, std::list<Entry>::iterator> index_;  // by start address
  size_t bytes_ = 0;
};

}  // namespace nvmefs::transport::rdma
