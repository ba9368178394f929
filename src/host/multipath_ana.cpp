#include "multipath_ana.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "nvmefs/common/error.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

namespace {
constexpr uint8_t kLidAna = 0x0C;
constexpr uint8_t kLspReturnGroupsOnly = 0x1;  // RGO (§5.16.1.12): no NSID lists
constexpr size_t kHeaderBytes = 16;            // CHGCNT(8) NGRPS(2) reserved(6)
constexpr size_t kDescriptorBytes = 32;        // ANAGRPID(4) NNSIDS(4) CHGCNT(8) state(1) reserved(15)
constexpr uint32_t kMaxGroups = 1024;          // bounds the log we ask for

bool valid_state(uint8_t s) { return (s >= 0x1 && s <= 0x4) || s == 0xF; }
}  // namespace

bool reports_ana(const nvme_id_ctrl& id) { return (id.cmic >> 3) & 1; }

bool sends_ana_notices(const nvme_id_ctrl& id) {
  return (wire::get_le32(reinterpret_cast<const uint8_t*>(&id.oaes)) >> 11) & 1;
}

uint32_t ana_group_of(const nvme_id_ns& id) { return wire::get_le32(reinterpret_cast<const uint8_t*>(&id.anagrpid)); }

std::vector<AnaGroup> parse_ana_log(const uint8_t* buf, size_t len) {
  if (len < kHeaderBytes) throw Error("ANA log page: shorter than its header");
  const uint16_t ngrps = wire::get_le16(buf + 8);
  std::vector<AnaGroup> groups;
  size_t off = kHeaderBytes;
  for (uint16_t g = 0; g < ngrps; ++g) {
    if (len - off < kDescriptorBytes) throw Error(fmt::format("ANA log page: group descriptor {} truncated", g));
    const uint8_t* d = buf + off;
    const uint32_t nnsids = wire::get_le32(d + 4);
    const uint8_t state = d[16] & 0xF;
    if (nnsids > (len - off - kDescriptorBytes) / 4)
      throw Error(fmt::format("ANA log page: group descriptor {} lists more NSIDs than the page holds", g));
    if (!valid_state(state)) throw Error(fmt::format("ANA log page: reserved ANA state {:#x}", state));
    groups.push_back({wire::get_le32(d), AnaState(state)});
    off += kDescriptorBytes + size_t(nnsids) * 4;
  }
  return groups;
}

std::vector<AnaGroup> read_ana_log(Controller& ctrl) {
  const nvme_id_ctrl& id = ctrl.info().id;
  const uint32_t groups = std::clamp<uint32_t>(wire::get_le32(reinterpret_cast<const uint8_t*>(&id.nanagrpid)), 1,
                                               kMaxGroups);
  std::vector<uint8_t> buf(kHeaderBytes + groups * kDescriptorBytes);
  wire::Cqe cqe{};
  const int err = ctrl.admin_command(
      wire::cmd::get_log_page(kLidAna, 0, uint32_t(buf.size()), 0, kLspReturnGroupsOnly), buf.data(),
      uint32_t(buf.size()), &cqe);
  if (err != 0)
    throw Error(fmt::format("Get Log Page (ANA) failed: {} (status {:#x})", err, err == -EIO ? cqe.status() : 0));
  return parse_ana_log(buf.data(), buf.size());
}

}  // namespace nvmefs::host
