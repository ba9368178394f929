// Discovery log page parsing (NVMe Base 2.0 §5.16.1.23, NVMe-oF 1.1 §5.3).
// Field positions come from libnvme's struct layouts via offsetof, so the
// code reads the untrusted bytes without ever casting them to a struct.
#include "nvmefs/wire/discovery_log.hpp"

#include <algorithm>
#include <cstddef>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::wire {
namespace {

using Entry = struct nvmf_disc_log_entry;
static_assert(sizeof(Entry) == kDiscoveryLogEntryLen);
static_assert(offsetof(struct nvmf_discovery_log, entries) == kDiscoveryLogHeaderLen);

}  // namespace

bool parse_discovery_log_header(std::span<const uint8_t> bytes, DiscoveryLogHeader& out) {
  if (bytes.size() < kDiscoveryLogHeaderLen) return false;
  const uint8_t* p = bytes.data();
  out.genctr = get_le64(p + offsetof(struct nvmf_discovery_log, genctr));
  out.numrec = get_le64(p + offsetof(struct nvmf_discovery_log, numrec));
  out.recfmt = get_le16(p + offsetof(struct nvmf_discovery_log, recfmt));
  return true;
}

bool parse_discovery_entry(std::span<const uint8_t> bytes, DiscoveryEntry& out) {
  if (bytes.size() < kDiscoveryLogEntryLen) return false;
  const uint8_t* e = bytes.data();
  DiscoveryEntry d;
  d.trtype = e[offsetof(Entry, trtype)];
  d.adrfam = e[offsetof(Entry, adrfam)];
  d.subtype = e[offsetof(Entry, subtype)];
  d.treq = e[offsetof(Entry, treq)];
  d.portid = get_le16(e + offsetof(Entry, portid));
  d.cntlid = get_le16(e + offsetof(Entry, cntlid));
  d.asqsz = get_le16(e + offsetof(Entry, asqsz));
  d.eflags = get_le16(e + offsetof(Entry, eflags));
  d.trsvcid = ascii_field(e + offsetof(Entry, trsvcid), sizeof(Entry::trsvcid));
  d.subnqn = ascii_field(e + offsetof(Entry, subnqn), sizeof(Entry::subnqn));
  d.traddr = ascii_field(e + offsetof(Entry, traddr), sizeof(Entry::traddr));
  d.tcp_sectype = e[offsetof(Entry, tsas)];  // TSAS byte 0: SECTYPE for TCP (NVMe/TCP §4.4)
  out = std::move(d);
  return true;
}

std::vector<DiscoveryEntry> parse_discovery_log(std::span<const uint8_t> bytes, DiscoveryLogHeader& hdr,
                                                bool& truncated) {
  std::vector<DiscoveryEntry> entries;
  truncated = false;
  hdr = {};
  if (!parse_discovery_log_header(bytes, hdr)) {
    truncated = true;
    return entries;
  }
  uint64_t fit = (bytes.size() - kDiscoveryLogHeaderLen) / kDiscoveryLogEntryLen;
  uint64_t n = std::min(hdr.numrec, fit);
  truncated = hdr.numrec > fit;
  entries.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    DiscoveryEntry e;
    parse_discovery_entry(bytes.subspan(kDiscoveryLogHeaderLen + i * kDiscoveryLogEntryLen), e);
    entries.push_back(std::move(e));
  }
  return entries;
}

const char* trtype_name(uint8_t trtype) {
  switch (trtype) {
    case NVMF_TRTYPE_RDMA: return "rdma";
    case NVMF_TRTYPE_FC: return "fc";
    case NVMF_TRTYPE_TCP: return "tcp";
    case NVMF_TRTYPE_LOOP: return "loop";
    default: return "unspecified";
  }
}

const char* adrfam_name(uint8_t adrfam) {
  switch (adrfam) {
    case NVMF_ADDR_FAMILY_IP4: return "ipv4";
    case NVMF_ADDR_FAMILY_IP6: return "ipv6";
    case NVMF_ADDR_FAMILY_IB: return "ib";
    case NVMF_ADDR_FAMILY_FC: return "fc";
    case NVMF_ADDR_FAMILY_LOOP: return "loop";
    default: return "unknown";
  }
}

const char* subtype_name(uint8_t subtype) {
  switch (subtype) {
    case NVME_NQN_DISC: return "discovery subsystem referral";
    case NVME_NQN_NVME: return "nvme subsystem";
    case NVME_NQN_CURR: return "current discovery subsystem";
    default: return "unknown";
  }
}

std::string ascii_field(const void* p, size_t len) {
  const auto* s = static_cast<const uint8_t*>(p);
  std::string out;
  for (size_t i = 0; i < len && s[i] != 0; ++i) out.push_back(s[i] >= 0x20 && s[i] < 0x7F ? char(s[i]) : '?');
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace nvmefs::wire
