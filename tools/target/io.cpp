#include "io.hpp"

#include <cerrno>
#include <cstring>

#include "nvmefs/common/log.hpp"

namespace nvmefs::target {
namespace {

using namespace wire::status;

constexpr uint32_t kFuaBit = 1u << 30;             // CDW12 of Read/Write/Write Zeroes
constexpr uint32_t kDeallocateBit = 1u << 25;      // Write Zeroes CDW12.DEAC
constexpr uint32_t kAttributeDeallocate = 1u << 2; // DSM CDW11.AD
constexpr uint32_t kBroadcastNsid = 0xFFFFFFFF;

// Namespace and LBA range of a command (SLBA CDW10/11, NLB 0-based CDW12 15:0).
uint16_t resolve_range(const NamespaceTable& nss, const wire::Sqe& sqe, const Namespace*& ns, uint64_t& slba,
                       uint64_t& nlb) {
  ns = nss.find(sqe.nsid());
  if (!ns) return dnr(kInvalidNamespace);
  slba = (uint64_t(sqe.cdw(11)) << 32) | sqe.cdw(10);
  nlb = uint64_t(sqe.cdw(12) & 0xFFFF) + 1;
  if (slba >= ns->lba_count || nlb > ns->lba_count - slba) return dnr(kLbaOutOfRange);
  return kSuccess;
}

uint16_t flush(const NamespaceTable& nss, uint32_t nsid) {
  if (nsid != kBroadcastNsid) {
    const Namespace* ns = nss.find(nsid);
    if (!ns) return dnr(kInvalidNamespace);
    if (int rc = ns->storage->flush()) return status_from_errno(rc, true);
    return kSuccess;
  }
  int rc = 0;
  nss.for_each([&](const Namespace& ns) {
    if (rc == 0) rc = ns.storage->flush();
  });
  return rc ? status_from_errno(rc, true) : kSuccess;
}

uint16_t write_zeroes(Controller& ctrl, const NamespaceTable& nss, const wire::Sqe& sqe, bool read_only) {
  const Namespace* ns;
  uint64_t slba, nlb;
  if (uint16_t st = resolve_range(nss, sqe, ns, slba, nlb)) return st;
  if (read_only) return dnr(status::kNamespaceWriteProtected);
  const bool deallocate = sqe.cdw(12) & kDeallocateBit;
  if (int rc = ns->storage->write_zeroes(slba << ns->lba_shift, nlb << ns->lba_shift, deallocate))
    return status_from_errno(rc, true);
  if ((sqe.cdw(12) & kFuaBit) || !ctrl.write_cache_enabled)
    if (int rc = ns->storage->flush()) return status_from_errno(rc, true);
  return kSuccess;
}

// Dataset Management (NVM Command Set 1.0 §3.2.3): NR CDW10 7:0 (0-based)
// ranges of 16 bytes; only the Deallocate attribute does anything.
uint16_t dataset_management(const NamespaceTable& nss, const wire::Sqe& sqe, std::span<const uint8_t> data,
                            bool read_only) {
  const Namespace* ns = nss.find(sqe.nsid());
  if (!ns) return dnr(kInvalidNamespace);
  const size_t ranges = (sqe.cdw(10) & 0xFF) + 1;
  if (data.size() < ranges * sizeof(nvme_dsm_range)) return dnr(kDataSglLengthInvalid);
  if (!(sqe.cdw(11) & kAttributeDeallocate)) return kSuccess;
  if (read_only) return dnr(status::kNamespaceWriteProtected);
  for (size_t i = 0; i < ranges; ++i) {  // check all before changing anything
    const uint8_t* r = data.data() + i * sizeof(nvme_dsm_range);
    uint64_t nlb = wire::get_le32(r + 4), slba = wire::get_le64(r + 8);
    if (slba > ns->lba_count || nlb > ns->lba_count - slba) return dnr(kLbaOutOfRange);
  }
  for (size_t i = 0; i < ranges; ++i) {
    const uint8_t* r = data.data() + i * sizeof(nvme_dsm_range);
    uint64_t nlb = wire::get_le32(r + 4), slba = wire::get_le64(r + 8);
    if (nlb == 0) continue;
    if (int rc = ns->storage->write_zeroes(slba << ns->lba_shift, nlb << ns->lba_shift, true))
      return status_from_errno(rc, true);
  }
  return kSuccess;
}

}  // namespace

uint16_t status_from_errno(int negative_errno, bool write) {
  log::warn("backing store {} failed: {}", write ? "write" : "read", std::strerror(-negative_errno));
  if (negative_errno == -EIO) return write ? kWriteFault : kUnrecoveredReadError;
  if (negative_errno == -ENOSPC) return kCapacityExceeded;
  return kInternalError;
}

uint16_t resolve_read_write(Controller& ctrl, const NamespaceTable& nss, const wire::Sqe& sqe, bool read_only,
                            Extent& extent) {
  const Namespace* ns;
  uint64_t slba, nlb;
  if (uint16_t st = resolve_range(nss, sqe, ns, slba, nlb)) return st;
  const bool write = sqe.opcode() == kOpWrite;
  if (write && read_only) return dnr(status::kNamespaceWriteProtected);
  extent.storage = ns->storage.get();
  extent.offset = slba << ns->lba_shift;
  extent.length = nlb << ns->lba_shift;
  extent.fua = write && ((sqe.cdw(12) & kFuaBit) || !ctrl.write_cache_enabled);
  return kSuccess;
}

uint16_t execute_io(Controller& ctrl, const NamespaceTable& nss, const wire::Sqe& sqe, std::span<const uint8_t> data,
                    bool read_only) {
  switch (sqe.opcode()) {
    case kOpFlush: return flush(nss, sqe.nsid());
    case kOpWriteZeroes: return write_zeroes(ctrl, nss, sqe, read_only);
    case kOpDatasetManagement: return dataset_management(nss, sqe, data, read_only);
    default: return dnr(kInvalidOpcode);
  }
}

}  // namespace nvmefs::target
