// The block cache implementation class, shared by the files of src/cache:
//   block_cache.cpp  construction, states essay, stats, drop, make_block_cache
//   front.cpp        submit(): validation, splitting into pieces, read hits
//   piece_run.cpp    running a piece against its block (fills, RMW, write-through)
//   fill_run.cpp     merged fills: one lower read for a run of absent blocks
//   writeback.cpp    the flusher thread: staging, coalescing, Flush barrier
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dirty_list.hpp"
#include "fill_run.hpp"
#include "nvmefs/cache/block_cache.hpp"
#include "piece.hpp"
#include "piece_pool.hpp"
#include "readahead.hpp"
#include "shard.hpp"

namespace nvmefs::cache {

// Internal Flush flag: write back only, do not send Flush down (writeback_all).
inline constexpr uint32_t kFlushNoLower = 1u << 31;

struct WritebackSlot {
  CacheImpl* cache = nullptr;
  uint8_t* staging = nullptr;
  IoRequest req;
};

class CacheImpl final : public BlockCache {
 public:
  CacheImpl(std::shared_ptr<BlockDevice> lower, const CacheOptions& opts);
  ~CacheImpl() override;

  const BlockDeviceInfo& info() const override { return info_; }
  void submit(IoRequest* req) override;
  int writeback_all() override;
  int drop() override;
  CacheStats stats() const override;
  const CacheOptions& options() const override { return opts_; }
  int resize() override;  // resize.cpp

  void run(Piece* p);  // (re)runs a piece; never called with a shard lock held
  // Records err (first one wins) and completes r when its last part is done.
  static void release(IoRequest* r, int err, uint16_t nvme_status = 0);

 private:
  // front.cpp
  void submit_read(IoRequest* r);
  void submit_write(IoRequest* r, uint64_t offset, uint64_t length, uint8_t* buf, bool advance);
  void submit_zero_middle(IoRequest* r, uint64_t offset, uint64_t length);
  void submit_zero(IoRequest* r);
  void prefetch(uint64_t offset, uint64_t length);
  bool try_read_hit(uint64_t block, uint32_t off, uint32_t len, uint8_t* buf);
  Piece* new_piece(IoRequest* parent, IoOp op, uint64_t block, uint32_t off, uint32_t len, uint8_t* buf);
  void finish(Piece* p, int err, uint16_t nvme_status = 0);
  bool over_dirty_limit() const;

  // piece_run.cpp
  void run_read(Piece* p, Shard& s, Entry* e, std::unique_lock<std::mutex>& lk);
  void run_write_back(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk);
  void run_write_through(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk);
  void run_zero(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk);
  void start_direct(Piece* p);
  bool fill_edges(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk);
  void start_lower(Piece* p, Entry* e, LowerOp kind, IoOp op, uint32_t lba_first, uint32_t lba_count,
                   void* buf, std::unique_lock<std::mutex>& lk);
  static void on_lower_done(IoRequest* r);
  void lower_done(Piece* p);
  bool throttle(Piece* p);
  void unthrottle();
  void mark_dirty(Entry* e, uint32_t first, uint32_t count);
  void clear_dirty(Entry* e, uint32_t first, uint32_t count);
  void run_all(Piece* list);

  // fill_run.cpp
  void init_fill_runs();
  // Fills the absent blocks of [first, first + count) with one lower read per
  // run of consecutive absent blocks. `owners`: nullptr (readahead) or one
  // demand piece per block, linked by next, re-run when its block is filled.
  void fill_blocks(uint64_t first, uint32_t count, Piece* owners);
  Entry* claim_absent(uint64_t block, bool demand);
  bool resident(uint64_t block);
  FillRun* take_fill_run();
  void put_fill_run(FillRun* fr);
  void start_fill_run(FillRun* fr);
  static void on_fill_run_done(IoRequest* r);
  void fill_run_done(FillRun* fr);

  // resize.cpp
  // Under the entry's shard lock: forgets the cached and dirty LBAs of e at
  // or beyond byte `end`. Returns the dirty bytes dropped (dirty_bytes_ and
  // the DirtyList are updated; LBAs still in an in-flight write-back stay
  // counted until it completes).
  uint64_t drop_beyond(Entry* e, uint64_t end);
  bool fill_is_current(uint64_t gen) const { return gen == size_gen_.load(std::memory_order_acquire); }

  // writeback.cpp
  void flusher_main();
  void flush_barrier(IoRequest* r);
  bool writeback_pass(uint64_t max_seq, uint64_t dirtied_before_ms);
  bool stage(uint64_t block);
  WritebackSlot* acquire_slot();
  static void on_writeback_done(IoRequest* r);
  void writeback_done(WritebackSlot* slot);
  void kick_flusher(bool pressure);

 public:
  // Geometry helpers (used by every file).
  Shard& shard_of(uint64_t block) { return shards_[(block * 0x9E3779B97F4A7C15ull) >> 40 & shard_mask_]; }
  uint32_t block_bytes(uint64_t block) const;
  static uint64_t now_ms();

 private:
  std::shared_ptr<BlockDevice> lower_;
  CacheOptions opts_;
  BlockDeviceInfo info_;
  uint32_t lbs_;              // lower LBA size
  uint32_t cb_;               // cache block bytes
  std::atomic<uint64_t> nblocks_{0};  // cache blocks covering the device (follows resize())
  // Bumped by every resize(): a fill started under an older generation may
  // have read against the old size, so its data is not made valid (the
  // piece re-runs instead). Checked under the shard lock, bumped before
  // resize() walks the shards: see resize.cpp.
  std::atomic<uint64_t> size_gen_{0};
  std::mutex resize_mu_;      // one resize() at a time
  bool caching_;              // mode != None
  bool fua_supported_ = true;
  PiecePool pieces_;          // declared before everything that may hold pieces: destroyed last

  std::unique_ptr<uint8_t[]> arena_;     // every block buffer, preallocated
  std::unique_ptr<Shard[]> shards_;
  uint64_t shard_mask_ = 0;
  std::unique_ptr<uint8_t[]> zeros_;     // one LBA of zeros (WriteZeroes edges)
  ReadaheadDetector readahead_;

  // Merged fills (fill_run.cpp), preallocated; none when fill_run_blocks_ == 0.
  uint32_t fill_run_blocks_ = 0;          // blocks per merged fill at most
  std::unique_ptr<uint8_t[]> fill_staging_;
  std::unique_ptr<FillRun[]> fill_runs_;
  std::mutex fill_mu_;                    // held for a pointer swap only
  FillRun* free_fill_runs_ = nullptr;
  DirtyList dirty_list_;

  // Throttled writers (writeback mode, dirty bytes >= dirty_max).
  std::mutex throttle_mu_;
  PieceList throttled_;

  // Flusher state.
  std::mutex fl_mu_;
  std::condition_variable fl_cv_;
  bool fl_stop_ = false;
  bool fl_pressure_ = false;
  IoRequest* flush_head_ = nullptr;   // queued Flush requests (linked by next_)
  IoRequest* flush_tail_ = nullptr;
  std::unique_ptr<WritebackSlot[]> slots_;
  std::vector<WritebackSlot*> free_slots_;
  std::unique_ptr<uint8_t[]> staging_;
  uint32_t staging_bytes_ = 0;
  uint32_t inflight_ = 0;
  std::vector<uint64_t> candidates_;
  std::atomic<int> wb_error_{0};
  std::atomic<uint32_t> internal_pieces_{0};  // readahead fills and merged fills in flight (waited for at destruction)
  std::atomic<uint32_t> callbacks_{0};        // lower completions still running in this object

  // Held by every lower completion: a completion may finish the owner's last
  // request, after which the owner may destroy the cache while we unwind.
  struct CallbackGuard {
    explicit CallbackGuard(CacheImpl* c) : c_(c) { c_->callbacks_.fetch_add(1, std::memory_order_relaxed); }
    ~CallbackGuard() { c_->callbacks_.fetch_sub(1, std::memory_order_release); }
    CacheImpl* c_;
  };
  std::thread flusher_;

  // Statistics.
  std::atomic<uint64_t> hits_{0}, misses_{0}, readahead_blocks_{0}, evictions_{0};
  std::atomic<int64_t> dirty_bytes_{0};
  std::atomic<uint64_t> writeback_bytes_{0}, throttled_writes_{0};
};

}  // namespace nvmefs::cache
