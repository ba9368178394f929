// Block cache: construction, statistics, drop.
//
// ---- Entry states and their invariants (after s3backer's block_cache.c) ----
//
// The device is cut into cache blocks of cache_block bytes; an Entry tracks
// one of them, with per-LBA bitmaps `valid`, `dirty` and `writing`. Its state
// is derived from those fields (all under the owning shard's mutex):
//
//   EMPTY      not in the index, or a 2Q ghost (data == nullptr): nothing cached.
//   READING    locked by a Fill: the lower device is writing the LBAs of one
//              invalid run into `data`. Only that run is touched; reads of
//              already-valid LBAs may still be served. Other pieces park on
//              `waiters` (a callback list, no thread blocks) and re-run when
//              the fill completes: never a duplicate lower read. A fresh run
//              of consecutive absent blocks (readahead, multi-block demand
//              miss) is one merged fill (fill_run.cpp): every block of it is
//              READING until the one lower read completes; on error none
//              becomes valid and every demand piece of the run fails.
//   CLEAN      valid LBAs match the device; dirty and writing are empty.
//              Only CLEAN entries with no waiters are evictable.
//   DIRTY      some LBAs are newer than the device (writeback mode) and the
//              entry is on the DirtyList. Never evicted.
//   WRITING    the flusher copied dirty runs into a staging buffer and moved
//              their bits from `dirty` to `writing` (wb_jobs > 0). `data` is
//              not read by the lower device, so writers need not wait.
//   DIRTY-WHILE-WRITING  WRITING, and a writer dirtied LBAs again: they are
//              in `dirty` (and on the DirtyList) and will be written again.
//   (locked write) a write-through, FUA write or zeroing owns the block until
//              the lower op completes: it waits for wb_jobs == 0 first, so an
//              older write-back can never land after it; everything but
//              reads of valid LBAs parks on `waiters` meanwhile. This is the
//              per-block range lock that makes read-modify-write of partial
//              LBAs safe, in every mode (cache=none uses short-lived entries).
//
// When a write-back completes, `writing` bits are cleared; on error they
// return to `dirty` (the data is never dropped), the error is logged and
// kept for the next Flush. dirty_bytes counts LBAs in dirty|writing.
//
// Locking: shard mutex -> DirtyList mutex; throttle and flusher mutexes are
// never held together with a shard mutex. The lower device is always called
// with no lock held (it may complete inside submit()).
#include <algorithm>
#include <bit>
#include <chrono>
#include <thread>

#include "cache_impl.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::cache {

namespace {
constexpr uint32_t kWritebackSlots = 4;
constexpr uint32_t kNoCacheEntries = 64;       // cache=none: blocks locked at once
constexpr uint32_t kBlocksPerShard = 32;
constexpr uint32_t kMaxShards = 16;
constexpr size_t kFlushBatch = 64;

uint64_t readahead_min_window(const CacheOptions& o) { return std::min<uint64_t>(2ull * o.cache_block, o.readahead_max); }
}  // namespace

uint64_t CacheImpl::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

uint32_t CacheImpl::block_bytes(uint64_t block) const {
  return uint32_t(std::min<uint64_t>(cb_, info_.size_bytes - block * cb_));
}

CacheImpl::CacheImpl(std::shared_ptr<BlockDevice> lower, const CacheOptions& opts)
    : lower_(std::move(lower)),
      opts_(opts),
      readahead_(opts.mode == Mode::None ? 0 : readahead_min_window(opts), opts.mode == Mode::None ? 0 : opts.readahead_max) {
  const BlockDeviceInfo& li = lower_->info();
  lbs_ = li.block_size;
  cb_ = opts.cache_block;
  caching_ = opts.mode != Mode::None;
  if (lbs_ == 0 || li.size_bytes == 0 || li.size_bytes % lbs_)
    throw Error("block cache: lower device has no usable size/LBA size", EINVAL);
  if (cb_ == 0 || cb_ % lbs_ || cb_ / lbs_ > LbaBitmap::kMaxBits)
    throw Error(fmt::format("block cache: cache_block {} must be a multiple of the LBA size {} and at most {} LBAs",
                            cb_, lbs_, LbaBitmap::kMaxBits), EINVAL);
  if (caching_ && opts.cache_size < cb_)
    throw Error(fmt::format("block cache: cache_size {} is smaller than one cache block ({})", opts.cache_size, cb_), EINVAL);
  if (opts.mode == Mode::WriteBack && opts.dirty_max > opts.cache_size)
    throw Error(fmt::format("block cache: dirty_max {} exceeds cache_size {}", opts.dirty_max, opts.cache_size), EINVAL);

  info_ = li;
  info_.block_size = 1;
  info_.max_transfer = 1 << 20;
  nblocks_ = (li.size_bytes + cb_ - 1) / cb_;

  uint64_t buffers = caching_ ? opts.cache_size / cb_ : kNoCacheEntries;
  uint32_t shards = caching_ ? uint32_t(std::clamp<uint64_t>(std::bit_floor(std::max<uint64_t>(1, buffers / kBlocksPerShard)), 1, kMaxShards)) : 4;
  shard_mask_ = shards - 1;
  arena_.reset(new uint8_t[buffers * cb_]);
  shards_ = std::make_unique<Shard[]>(shards);
  uint8_t* next = arena_.get();
  for (uint32_t i = 0; i < shards; ++i) {
    uint32_t n = uint32_t(buffers / shards + (i < buffers % shards ? 1 : 0));
    shards_[i].init(n, next, cb_, caching_);
    next += uint64_t(n) * cb_;
  }
  zeros_.reset(new uint8_t[lbs_]());
  init_fill_runs();

  if (opts.mode == Mode::WriteBack) {
    staging_bytes_ = std::max(lbs_, std::min<uint32_t>(li.max_transfer, 4u << 20) / lbs_ * lbs_);
    staging_.reset(new uint8_t[uint64_t(staging_bytes_) * kWritebackSlots]);
    slots_ = std::make_unique<WritebackSlot[]>(kWritebackSlots);
    for (uint32_t i = 0; i < kWritebackSlots; ++i) {
      slots_[i].cache = this;
      slots_[i].staging = staging_.get() + uint64_t(i) * staging_bytes_;
      free_slots_.push_back(&slots_[i]);
    }
    candidates_.resize(kFlushBatch);
    flusher_ = std::thread([this] { flusher_main(); });
  }
  log::debug("block cache: mode={} blocks={}x{} shards={} lba={}", mode_name(opts.mode), buffers, cb_, shards, lbs_);
}

CacheImpl::~CacheImpl() {
  // The owner has waited for its own requests; readahead fills are ours.
  auto wait_for_zero = [](const std::atomic<uint32_t>& n) {
    while (n.load(std::memory_order_acquire) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  wait_for_zero(internal_pieces_);
  if (flusher_.joinable()) {
    if (int err = writeback_all(); err) log::error("block cache: write-back at shutdown failed: error {}", err);
    {
      std::lock_guard lk(fl_mu_);
      fl_stop_ = true;
    }
    fl_cv_.notify_all();
    flusher_.join();
  }
  wait_for_zero(callbacks_);
}

int CacheImpl::writeback_all() {
  if (opts_.mode != Mode::WriteBack) return 0;
  return submit_and_wait(*this, IoOp::Flush, 0, 0, nullptr, kFlushNoLower);
}

int CacheImpl::drop() {
  int err = writeback_all();
  for (uint64_t i = 0; i <= shard_mask_; ++i) {
    std::lock_guard lk(shards_[i].mu);
    evictions_ += shards_[i].drop_clean();
  }
  return err;
}

CacheStats CacheImpl::stats() const {
  CacheStats st;
  st.read_hits = hits_;
  st.read_misses = misses_;
  st.readahead_blocks = readahead_blocks_;
  st.evictions = evictions_;
  st.dirty_bytes = uint64_t(std::max<int64_t>(0, dirty_bytes_));
  st.writeback_bytes = writeback_bytes_;
  st.throttled_writes = throttled_writes_;
  if (caching_) {
    for (uint64_t i = 0; i <= shard_mask_; ++i) {
      std::lock_guard lk(shards_[i].mu);
      st.cached_bytes += uint64_t(shards_[i].resident()) * cb_;
    }
  }
  return st;
}

std::unique_ptr<BlockCache> make_block_cache(std::shared_ptr<BlockDevice> lower, const CacheOptions& opts) {
  if (!lower) throw Error("block cache: no lower device", EINVAL);
  return std::make_unique<CacheImpl>(std::move(lower), opts);
}

}  // namespace nvmefs::cache
