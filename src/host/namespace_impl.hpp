// A namespace of a connected controller as a BlockDevice: byte ranges become
// NVM commands (NVM Command Set 1.0 §3.2), split by MDTS and the 16-bit NLB
// field; the pieces of a request run on one I/O queue.
#pragma once

#include <memory>

#include "io_queues.hpp"
#include "nvmefs/host/controller.hpp"

namespace nvmefs::host {

// What a Namespace needs to know about its controller.
struct NamespaceLimits {
  uint32_t mdts_bytes = 0;        // 0 = no limit
  bool volatile_write_cache = false;
  bool write_zeroes = false;      // ONCS bit 3
  bool dataset_management = false;  // ONCS bit 2
};

class NamespaceImpl final : public Namespace, public IoSplitter {
 public:
  // Throws nvmefs::Error for a format this initiator cannot use (metadata, LBA size).
  NamespaceImpl(uint32_t nsid, const nvme_id_ns& id, const NamespaceLimits& limits, std::shared_ptr<IoQueues> queues);

  const BlockDeviceInfo& info() const override { return info_; }
  void submit(IoRequest* req) override;
  uint32_t nsid() const override { return nsid_; }
  // The Identify Namespace data that created this object (its NSZE is not
  // updated by resize(): nsze() and info().size_bytes are the current size).
  const nvme_id_ns& id() const override { return id_; }
  uint64_t nsze() const override { return nsze_.load(std::memory_order_relaxed); }
  uint32_t lba_shift() const { return lba_shift_; }

  // The namespace was resized on the target (NSZE changed, same LBA format):
  // requests are checked against the new size from now on. Not concurrent
  // with itself (the controller's recovery thread rescans).
  void resize(uint64_t nsze);

  bool next_piece(IoRequest* req, nvme_dsm_range& dsm, IoPiece& piece) override;

  // The controller no longer reports this namespace: requests fail with -ENODEV.
  void mark_removed() { removed_.store(true, std::memory_order_relaxed); }

 private:
  int validate(const IoRequest& req) const;

  const uint32_t nsid_;
  const nvme_id_ns id_;
  std::atomic<uint64_t> nsze_;  // in LBAs; info_.size_bytes follows it
  std::shared_ptr<IoQueues> queues_;
  unsigned lba_shift_ = 9;
  uint64_t max_rw_bytes_ = 0;  // one Read/Write command: min(MDTS, 65536 LBAs)
  BlockDeviceInfo info_;
  std::atomic<bool> removed_{false};
};

}  // namespace nvmefs::host
