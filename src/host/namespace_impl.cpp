#include "namespace_impl.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "identify_parse.hpp"
#include "nvmefs/common/error.hpp"

namespace nvmefs::host {

namespace {
constexpr uint64_t kMaxNlb = 65536;               // NLB is a 0-based 16-bit field (NVM Command Set §3.2.4)
constexpr uint64_t kMaxDsmRangeLbas = 0xFFFFFFFF; // DSM range length is 32 bits (NVM Command Set §4.1.1)
constexpr uint32_t kMaxTransferHint = 1u << 20;

bool is_write_op(IoOp op) { return op == IoOp::Write || op == IoOp::WriteZeroes || op == IoOp::Deallocate; }
}  // namespace

NamespaceImpl::NamespaceImpl(uint32_t nsid, const nvme_id_ns& id, const NamespaceLimits& limits,
                             std::shared_ptr<IoQueues> queues)
    : nsid_(nsid), id_(id), nsze_(id.nsze), queues_(std::move(queues)) {
  const NamespaceGeometry g = namespace_geometry(nsid, id);
  lba_shift_ = g.lba_shift;
  max_rw_bytes_ = std::min<uint64_t>(kMaxNlb << lba_shift_, kMaxCommandData);
  if (limits.mdts_bytes) max_rw_bytes_ = std::min<uint64_t>(max_rw_bytes_, limits.mdts_bytes);
  if (max_rw_bytes_ < (1u << lba_shift_)) throw Error(fmt::format("namespace {}: MDTS smaller than one LBA", nsid));

  info_.size_bytes = g.size_bytes;
  info_.block_size = 1u << lba_shift_;
  info_.max_transfer = uint32_t(std::min<uint64_t>(max_rw_bytes_, kMaxTransferHint));
  info_.read_only = (id.nsattr & 1) != 0;  // NSATTR bit 0: write protected
  info_.volatile_write_cache = limits.volatile_write_cache;
  info_.can_write_zeroes = limits.write_zeroes;
  info_.can_deallocate = limits.dataset_management;
  // DLFEAT bits 2:0 = 001b: deallocated blocks read as zeros (NVM Command Set §4.1.5.1).
  info_.deallocate_reads_zeroes = limits.dataset_management && (id.dlfeat & 0x7) == 1;
}

void NamespaceImpl::resize(uint64_t nsze) {
  nsze_.store(nsze, std::memory_order_relaxed);
  info_.size_bytes.store(nsze << lba_shift_);  // namespace_geometry() checked that NSZE fits in bytes
}

int NamespaceImpl::validate(const IoRequest& req) const {
  if (removed_.load(std::memory_order_relaxed)) return -ENODEV;
  if (req.op == IoOp::Flush) return 0;
  const uint64_t mask = info_.block_size - 1;
  if ((req.offset & mask) || (req.length & mask)) return -EINVAL;
  const uint64_t size = info_.size_bytes.load();  // once: a resize may race this request
  if (req.offset > size || req.length > size - req.offset) return -EINVAL;
  if ((req.op == IoOp::Read || req.op == IoOp::Write) && !req.buf && req.length) return -EINVAL;
  if (info_.read_only && is_write_op(req.op)) return -EROFS;
  if (req.op == IoOp::WriteZeroes && !info_.can_write_zeroes) return -EOPNOTSUPP;
  if (req.op == IoOp::Deallocate && !info_.can_deallocate) return -EOPNOTSUPP;
  return 0;
}

void NamespaceImpl::submit(IoRequest* req) {
  req->result = 0;
  req->nvme_status = 0;
  int err = validate(*req);
  if (err != 0 || (req->length == 0 && req->op != IoOp::Flush)) {
    req->result = err;
    req->done(req);
    return;
  }
  req->exec_ = static_cast<IoSplitter*>(this);
  req->cursor_ = 0;
  req->first_error_.store(0, std::memory_order_relaxed);
  req->first_status_ = 0;
  req->pending_.store(1, std::memory_order_relaxed);  // dispatch guard, dropped by the queue
  queues_->pick().submit_io(req);
}

bool NamespaceImpl::next_piece(IoRequest* req, nvme_dsm_range& dsm, IoPiece& piece) {
  if (req->op == IoOp::Flush) {  // one command; cursor_ counts it
    if (req->cursor_ != 0) return false;
    req->cursor_ = 1;
    piece = IoPiece{wire::cmd::flush(nsid_), nullptr, 0, transport::DataDir::None};
    return true;
  }
  if (req->cursor_ >= req->length) return false;
  const uint64_t left = req->length - req->cursor_;
  const uint64_t slba = (req->offset + req->cursor_) >> lba_shift_;
  uint64_t bytes = 0;
  switch (req->op) {
    case IoOp::Read:
    case IoOp::Write: {
      bytes = std::min(left, max_rw_bytes_);
      const uint32_t nlb = uint32_t(bytes >> lba_shift_);
      auto* data = static_cast<uint8_t*>(req->buf) + req->cursor_;
      if (req->op == IoOp::Read)
        piece = IoPiece{wire::cmd::read(nsid_, slba, nlb), data, uint32_t(bytes), transport::DataDir::FromController};
      else
        piece = IoPiece{wire::cmd::write(nsid_, slba, nlb, (req->flags & kIoFua) != 0), data, uint32_t(bytes),
                        transport::DataDir::ToController};
      break;
    }
    case IoOp::WriteZeroes:
      bytes = std::min(left, kMaxNlb << lba_shift_);
      piece = IoPiece{wire::cmd::write_zeroes(nsid_, slba, uint32_t(bytes >> lba_shift_)), nullptr, 0,
                      transport::DataDir::None};
      break;
    case IoOp::Deallocate: {
      bytes = std::min(left, kMaxDsmRangeLbas << lba_shift_);
      // One range per command (struct nvme_dsm_range, little-endian on the wire).
      dsm = nvme_dsm_range{};
      wire::put_le32(reinterpret_cast<uint8_t*>(&dsm.nlb), uint32_t(bytes >> lba_shift_));
      wire::put_le64(reinterpret_cast<uint8_t*>(&dsm.slba), slba);
      piece = IoPiece{wire::cmd::dataset_management_deallocate(nsid_, 1), &dsm, sizeof dsm,
                      transport::DataDir::ToController};
      break;
    }
    case IoOp::Flush: break;
  }
  req->cursor_ += bytes;
  return true;
}

}  // namespace nvmefs::host
