#include "identify_parse.hpp"

#include <algorithm>
#include <limits>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

uint32_t mdts_bytes(uint8_t mdts, uint64_t cap) {
  if (mdts == 0) return 0;
  const uint64_t page = 4096ull << ((cap >> 48) & 0xF);
  return uint32_t(std::min<uint64_t>(page << std::min<unsigned>(mdts, 20), 1u << 31));
}

uint32_t in_capsule_data_bytes(uint32_t ioccsz) {
  if (ioccsz < 4) return 0;
  return uint32_t(std::min<uint64_t>(uint64_t(ioccsz) * 16 - 64, std::numeric_limits<uint32_t>::max()));
}

NamespaceGeometry namespace_geometry(uint32_t nsid, const nvme_id_ns& id) {
  // FLBAS bits 3:0 (+ bits 6:5 as the upper bits when NLBAF > 16) pick the LBA format (NVM Command Set §4.1.5.1).
  unsigned fmt = id.flbas & 0x0F;
  if (id.nlbaf >= 16) fmt |= unsigned((id.flbas >> 5) & 0x3) << 4;
  if (fmt > id.nlbaf || fmt >= 64) throw Error(fmt::format("namespace {}: invalid LBA format index {}", nsid, fmt));
  const nvme_lbaf& lbaf = id.lbaf[fmt];
  if (lbaf.ds < 9 || lbaf.ds > 16)
    throw Error(fmt::format("namespace {}: unsupported LBA data size 2^{}", nsid, unsigned(lbaf.ds)));
  if (lbaf.ms != 0)
    throw Error(fmt::format("namespace {}: LBA format with {} bytes of metadata is not supported", nsid,
                            wire::get_le16(reinterpret_cast<const uint8_t*>(&lbaf.ms))));
  NamespaceGeometry g;
  g.lba_shift = lbaf.ds;
  const uint64_t nsze = wire::get_le64(reinterpret_cast<const uint8_t*>(&id.nsze));
  if (nsze > (std::numeric_limits<uint64_t>::max() >> g.lba_shift))
    throw Error(fmt::format("namespace {}: size of {} blocks is out of range", nsid, nsze));
  g.size_bytes = nsze << g.lba_shift;
  return g;
}

}  // namespace nvmefs::host
