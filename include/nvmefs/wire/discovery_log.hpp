// Discovery log page (log identifier 70h) parsing: NVMe Base 2.0 §5.16.1.23,
// NVMe-oF 1.1 §5.3. Raw layout from libnvme (struct nvmf_discovery_log,
// struct nvmf_disc_log_entry); this turns the untrusted bytes into typed entries.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nvmefs::wire {

inline constexpr size_t kDiscoveryLogHeaderLen = 1024;  // genctr, numrec, recfmt, reserved
inline constexpr size_t kDiscoveryLogEntryLen = 1024;

struct DiscoveryEntry {
  uint8_t trtype = 0;      // NVMF_TRTYPE_* (3 = tcp, 1 = rdma)
  uint8_t adrfam = 0;      // NVMF_ADDR_FAMILY_* (1 = ipv4, 2 = ipv6)
  uint8_t subtype = 0;     // NVME_NQN_DISC (1, referral), NVME_NQN_NVME (2), NVME_NQN_CURR (3)
  uint8_t treq = 0;
  uint16_t portid = 0;
  uint16_t cntlid = 0;
  uint16_t asqsz = 0;
  uint16_t eflags = 0;
  std::string trsvcid;     // trimmed of padding (spaces / NULs)
  std::string subnqn;
  std::string traddr;
  uint8_t tcp_sectype = 0; // TSAS for TCP: NVMF_TCP_SECTYPE_*
};

struct DiscoveryLogHeader {
  uint64_t genctr = 0;
  uint64_t numrec = 0;
  uint16_t recfmt = 0;
};

// Parses the 1024-byte header. False if `bytes` is too short.
bool parse_discovery_log_header(std::span<const uint8_t> bytes, DiscoveryLogHeader& out);
// Parses one 1024-byte entry. False if `bytes` is too short.
bool parse_discovery_entry(std::span<const uint8_t> bytes, DiscoveryEntry& out);
// Parses a whole log (header + entries): at most min(numrec, what fits in
// `bytes`) entries; `truncated` tells whether numrec promised more than the buffer holds.
std::vector<DiscoveryEntry> parse_discovery_log(std::span<const uint8_t> bytes, DiscoveryLogHeader& hdr,
                                                bool& truncated);

const char* trtype_name(uint8_t trtype);    // "tcp", "rdma", "fc", "loop", "unspecified"
const char* adrfam_name(uint8_t adrfam);    // "ipv4", "ipv6", "ib", "fc", "loop"
const char* subtype_name(uint8_t subtype);  // "nvme subsystem", "discovery subsystem referral", "current discovery subsystem"

// Fixed-width, space-padded ASCII fields (model, serial, firmware, NQNs):
// copy up to `len` bytes, stop at NUL, trim trailing spaces, replace
// non-printable bytes by '?'.
std::string ascii_field(const void* p, size_t len);

}  // namespace nvmefs::wire
