// The block cache: a BlockDevice that wraps another BlockDevice (the remote
// namespace) and sits between FUSE and the network.
//
// Unlike the devices it wraps, a BlockCache accepts any byte offset and
// length (info().block_size == 1): it performs read-modify-write of partial
// LBAs itself, serialised per LBA so that concurrent writers to the same LBA
// never lose each other's bytes. This is true in every mode, cache=none too.
//
// Request semantics through the cache:
//   Read         served from cache or lower device (with readahead)
//   Write        none/writethrough: completes when the lower write completed;
//                writeback: completes when the data is in the cache (dirty),
//                unless kIoFua is set (then written through with FUA)
//   Flush        writes back every dirty block, then sends Flush down:
//                the durability barrier behind fsync/fdatasync
//   WriteZeroes  / Deallocate: invalidate or zero the cached range, then pass down
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nvmefs/block_device.hpp"

namespace nvmefs::cache {

enum class Mode : uint8_t { None, WriteThrough, WriteBack };
const char* mode_name(Mode m);               // "none", "writethrough", "writeback"
bool parse_mode(const std::string& s, Mode& out);

struct CacheOptions {
  Mode mode = Mode::WriteThrough;            // the safe default: nothing acknowledged lives only in memory
  uint64_t cache_size = 256ull << 20;        // bytes of cached data
  uint32_t cache_block = 64 << 10;           // bytes per cache block (multiple of the LBA size)
  uint64_t readahead_max = 4ull << 20;       // largest adaptive readahead window; 0 disables
  uint64_t dirty_max = 64ull << 20;          // writeback: writers are throttled above this
  uint32_t dirty_expire_ms = 5000;           // writeback: dirty blocks older than this are written back
};

struct CacheStats {
  uint64_t read_hits = 0, read_misses = 0;   // in cache blocks
  uint64_t readahead_blocks = 0;
  uint64_t evictions = 0;
  uint64_t dirty_bytes = 0;
  uint64_t cached_bytes = 0;
  uint64_t writeback_bytes = 0;              // total written back
  uint64_t throttled_writes = 0;
};

class BlockCache : public BlockDevice {
 public:
  // Writes back all dirty data (does not send Flush). Returns 0 or -errno.
  virtual int writeback_all() = 0;
  // Writes back, then drops every clean block.
  virtual int drop() = 0;
  virtual CacheStats stats() const = 0;
  virtual const CacheOptions& options() const = 0;
  virtual int resize() = 0;  // the lower device's size changed: adopt it
};

// Throws nvmefs::Error when the options don't fit the device (e.g.
// cache_block not a multiple of the LBA size).
std::unique_ptr<BlockCache> make_block_cache(std::shared_ptr<BlockDevice> lower, const CacheOptions& opts);

}  // namespace nvmefs::cache
