#include "identify.hpp"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {
namespace {

// ASCII fields are space padded, not NUL terminated (NVMe Base 2.0 §1.5).
void put_ascii(char* field, size_t len, std::string_view s) {
  std::memset(field, ' ', len);
  std::memcpy(field, s.data(), std::min(len, s.size()));
}

template <typename T>
std::vector<uint8_t> as_bytes(const T& s) {
  static_assert(sizeof(T) == kIdentifyLen);
  std::vector<uint8_t> out(kIdentifyLen);
  std::memcpy(out.data(), &s, sizeof s);
  return out;
}

uint8_t mdts_field(uint32_t mdts_bytes) {
  // In units of the minimum memory page size (CAP.MPSMIN = 4 KiB), as a power of two; 0 = no limit.
  uint8_t v = 0;
  if (mdts_bytes == 0) return 0;
  while ((4096u << v) < mdts_bytes) ++v;
  return v;
}

}  // namespace

std::vector<uint8_t> identify_controller(const Controller& ctrl, const Options& o) {
  nvme_id_ctrl id{};
  const Subsystem* sub = ctrl.subsystem();
  put_ascii(id.sn, sizeof id.sn, sub ? sub->serial : "discovery");
  put_ascii(id.mn, sizeof id.mn, o.model);
  put_ascii(id.fr, sizeof id.fr, NVMEFS_VERSION);
  id.rab = 6;
  id.cmic = 1u << 1;  // the subsystem may have several controllers (one per Connect)
  id.mdts = mdts_field(o.mdts_bytes);
  id.cntlid = htole16(ctrl.cntlid());
  id.ver = htole32(0x00010300);
  // CTRATT: 128-bit host identifier (required for fabrics) and traffic based
  // keep-alive (any command restarts the timer) (NVMe Base 2.0 Figure 275).
  id.ctratt = htole32((1u << 0) | (1u << 6));
  id.cntrltype = ctrl.is_discovery() ? 2 : 1;  // discovery / I/O controller
  id.acl = kAcl;
  id.aerl = kAerl;
  id.frmw = (1u << 1) | 1u;  // one firmware slot, read-only
  id.lpa = 1u << 2;          // extended Get Log Page data (offset, NUMDU)
  id.elpe = 0;
  id.kas = htole16(1);  // keep-alive granularity: 100 ms
  id.sqes = 0x66;
  id.cqes = 0x44;
  id.maxcmd = htole16(o.queue_size);
  // NN: the largest NSID namespaces may be added with at runtime (not the count).
  id.nn = htole32(sub ? kMaxNsid : 0);
  // OAES (Figure 275): Namespace Attribute Notices (bit 8) on I/O controllers,
  // Discovery Log Page Change Notices (bit 31) on discovery controllers.
  id.oaes = htole32(sub ? Controller::kAecNamespaceAttribute : Controller::kAecDiscoveryLogChange);
  if (sub) {
    id.oncs = htole16((1u << 2) | (1u << 3));  // Dataset Management, Write Zeroes
    id.vwc = 0x7;  // volatile write cache present; Flush with NSID FFFFFFFFh supported
  }
  // SGLS: SGLs supported (no alignment) and the SGL Data Block address is an
  // offset into the in-capsule data (NVMe-oF 1.1 §2.3.1).
  id.sgls = htole32((1u << 0) | (1u << 20));
  const char* nqn = sub ? sub->nqn.c_str() : wire::kDiscoveryNqn;
  std::strncpy(id.subnqn, nqn, sizeof id.subnqn - 1);
  // Fabrics fields (NVMe-oF 1.1 §4.1): command capsule = SQE + in-capsule data,
  // response capsule = CQE, in 16-byte units; no in-capsule data offset; dynamic
  // controller model; one SGL data block descriptor.
  id.ioccsz = htole32((64 + o.inline_data) / 16);
  id.iorcsz = htole32(1);
  id.icdoff = 0;
  id.fcatt = 0;
  id.msdbd = 1;
  id.psd[0].mp = htole16(100);  // 1 W, in 0.01 W units: nothing real, but not zero
  return as_bytes(id);
}

std::vector<uint8_t> identify_namespace(const Namespace* nsp, bool read_only) {
  nvme_id_ns id{};
  if (!nsp) return as_bytes(id);  // NVMe Base 2.0 §5.17.2.1: inactive NSID, zero filled
  const Namespace& ns = *nsp;
  id.nsze = id.ncap = id.nuse = htole64(ns.lba_count);
  id.nlbaf = 0;  // one LBA format
  id.flbas = 0;
  id.nmic = 1;   // may be attached to several controllers
  // DLFEAT: deallocated blocks read as zeros, Write Zeroes may deallocate.
  id.dlfeat = 0x1 | (1u << 3);
  id.nsattr = read_only ? 1 : 0;  // write protected
  std::memcpy(id.nguid, ns.nguid.data(), 16);
  id.lbaf[0].ds = uint8_t(ns.lba_shift);
  return as_bytes(id);
}

std::vector<uint8_t> active_namespace_list(const NamespaceTable& namespaces, uint32_t after) {
  std::vector<uint8_t> out(kIdentifyLen);
  size_t n = 0;
  namespaces.for_each([&](const Namespace& ns) {
    if (ns.nsid > after && n < kIdentifyLen / 4) wire::put_le32(out.data() + 4 * n++, ns.nsid);
  });
  return out;
}

std::vector<uint8_t> namespace_descriptors(const Namespace& ns) {
  std::vector<uint8_t> out(kIdentifyLen);
  size_t at = 0;
  auto add = [&](uint8_t type, const uint8_t* id, uint8_t len) {
    out[at] = type;
    out[at + 1] = len;
    std::memcpy(&out[at + 4], id, len);
    at += 4 + len;
  };
  const uint8_t csi_nvm = 0;
  add(NVME_NIDT_NGUID, ns.nguid.data(), NVME_NIDT_NGUID_LEN);
  add(NVME_NIDT_UUID, ns.uuid.data(), NVME_NIDT_UUID_LEN);
  add(NVME_NIDT_CSI, &csi_nvm, NVME_NIDT_CSI_LEN);
  return out;
}

}  // namespace nvmefs::target
