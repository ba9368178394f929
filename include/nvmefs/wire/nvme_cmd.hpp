// NVMe submission/completion queue entries and command builders.
//
// Pure data: no I/O, no allocation. The 64-byte SQE and 16-byte CQE layouts
// follow NVMe Base 2.0 §4.2 / §4.6 (and NVMe-oF 1.1 §2.1 for capsules).
// Data structures that the commands move (Identify, discovery log, connect
// data, ...) come from libnvme's <nvme/types.h>; libnvme has no wire SQE type,
// so it is defined here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

extern "C" {
#include <nvme/types.h>
}

namespace nvmefs::wire {

// Little-endian helpers (NVMe is little-endian on the wire, NVMe Base §1.5).
inline uint16_t get_le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t get_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t get_le64(const uint8_t* p) { return uint64_t(get_le32(p)) | (uint64_t(get_le32(p + 4)) << 32); }
inline void put_le16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
inline void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void put_le64(uint8_t* p, uint64_t v) { put_le32(p, uint32_t(v)); put_le32(p + 4, uint32_t(v >> 32)); }

// SGL descriptor types used by NVMe-oF (NVMe Base §4.3.2, NVMe/TCP §3.3.2).
inline constexpr uint8_t kSglDataBlockOffset = 0x01;   // type 0h, subtype 1h: in-capsule data
inline constexpr uint8_t kSglTransportDataBlock = 0x5A; // type 5h, subtype Ah: data via R2T/C2HData
inline constexpr uint8_t kSglKeyedDataBlock = 0x40;     // type 4h, subtype 0h (RDMA)
inline constexpr uint8_t kSglKeyedDataBlockInvalidate = 0x4F;

// CDW0 PSDT = 01b: SGLs are used for this command (NVMe Base §4.2 Figure 87).
inline constexpr uint8_t kPsdtSgl = 0x40;

inline constexpr uint16_t kFabricsOpcode = 0x7F;

// 64-byte submission queue entry, as raw little-endian bytes.
struct Sqe {
  uint8_t b[64]{};

  uint8_t opcode() const { return b[0]; }
  uint8_t flags() const { return b[1]; }
  uint16_t cid() const { return get_le16(b + 2); }
  uint32_t nsid() const { return get_le32(b + 4); }
  uint32_t cdw(int n) const { return get_le32(b + 4 * n); }   // n = 0..15
  uint8_t fctype() const { return b[4]; }                     // fabrics commands only

  void set_opcode(uint8_t v) { b[0] = v; }
  void set_flags(uint8_t v) { b[1] = v; }
  void set_cid(uint16_t v) { put_le16(b + 2, v); }
  void set_nsid(uint32_t v) { put_le32(b + 4, v); }
  void set_cdw(int n, uint32_t v) { put_le32(b + 4 * n, v); }

  // SGL1 lives in DPTR, bytes 24..39.
  uint64_t sgl_addr() const { return get_le64(b + 24); }
  uint32_t sgl_length() const { return get_le32(b + 32); }
  uint8_t sgl_type() const { return b[39]; }
  void set_sgl(uint64_t addr, uint32_t length, uint8_t type) {
    put_le64(b + 24, addr);
    put_le32(b + 32, length);
    b[36] = b[37] = b[38] = 0;
    b[39] = type;
  }
  // Keyed SGL (RDMA): 8-byte address, 3-byte length, 4-byte key.
  void set_keyed_sgl(uint64_t addr, uint32_t length, uint32_t key, uint8_t type) {
    put_le64(b + 24, addr);
    b[32] = uint8_t(length); b[33] = uint8_t(length >> 8); b[34] = uint8_t(length >> 16);
    put_le32(b + 35, key);
    b[39] = type;
  }
};
static_assert(sizeof(Sqe) == 64);

// 16-byte completion queue entry.
struct Cqe {
  uint8_t b[16]{};

  uint32_t dw0() const { return get_le32(b); }
  uint32_t dw1() const { return get_le32(b + 4); }
  uint64_t result64() const { return get_le64(b); }  // Property Get of an 8-byte property
  uint16_t sqhd() const { return get_le16(b + 8); }
  uint16_t sqid() const { return get_le16(b + 10); }
  uint16_t cid() const { return get_le16(b + 12); }
  // Status field without the phase tag (NVMe Base §4.6.1: bits 15:1 of DW3 upper half).
  uint16_t status() const { return uint16_t(get_le16(b + 14) >> 1); }
  bool dnr() const { return (status() >> 14) & 1; }
  uint8_t sc() const { return uint8_t(status() & 0xFF); }
  uint8_t sct() const { return uint8_t((status() >> 8) & 0x7); }

  void set_dw0(uint32_t v) { put_le32(b, v); }
  void set_dw1(uint32_t v) { put_le32(b + 4, v); }
  void set_result64(uint64_t v) { put_le64(b, v); }
  void set_sqhd(uint16_t v) { put_le16(b + 8, v); }
  void set_sqid(uint16_t v) { put_le16(b + 10, v); }
  void set_cid(uint16_t v) { put_le16(b + 12, v); }
  void set_status(uint16_t status_no_phase) { put_le16(b + 14, uint16_t(status_no_phase << 1)); }
};
static_assert(sizeof(Cqe) == 16);

// Status codes nvmefs needs by name (generic, SCT 0, unless noted).
namespace status {
inline constexpr uint16_t kSuccess = 0x0000;
inline constexpr uint16_t kInvalidOpcode = 0x0001;
inline constexpr uint16_t kInvalidField = 0x0002;
inline constexpr uint16_t kDataTransferError = 0x0004;
inline constexpr uint16_t kInternalError = 0x0006;
inline constexpr uint16_t kAbortRequested = 0x0007;
inline constexpr uint16_t kInvalidNamespace = 0x000B;
inline constexpr uint16_t kCommandSequenceError = 0x000C;
inline constexpr uint16_t kDataSglLengthInvalid = 0x000F;
inline constexpr uint16_t kLbaOutOfRange = 0x0080;
inline constexpr uint16_t kCapacityExceeded = 0x0081;
inline constexpr uint16_t kNamespaceNotReady = 0x0082;
// Command specific (SCT 1)
inline constexpr uint16_t kInvalidLogPage = 0x0109;
inline constexpr uint16_t kInvalidQueueSize = 0x0102;
// Fabrics command specific (SCT 1, NVMe-oF 1.1 §3.3 / NVMe Base 2.0 Figure 104)
inline constexpr uint16_t kConnectIncompatibleFormat = 0x0180;
inline constexpr uint16_t kConnectControllerBusy = 0x0181;
inline constexpr uint16_t kConnectInvalidParameters = 0x0182;
inline constexpr uint16_t kConnectRestartDiscovery = 0x0183;
inline constexpr uint16_t kConnectInvalidHost = 0x0184;
inline constexpr uint16_t kAuthRequired = 0x0191;
// Media errors (SCT 2)
inline constexpr uint16_t kWriteFault = 0x0280;
inline constexpr uint16_t kUnrecoveredReadError = 0x0281;
// Path related (SCT 3)
inline constexpr uint16_t kAsymmetricAccessInaccessible = 0x0302;
inline constexpr uint16_t kAsymmetricAccessTransition = 0x0303;
inline constexpr uint16_t kDnrBit = 0x4000;
}  // namespace status

// A human-readable name for a status value (SCT and SC, DNR/MORE ignored).
std::string_view status_name(uint16_t status);

// Command builders (NVMe Base 2.0 §5 admin, NVM Command Set §3 I/O,
// NVMe-oF 1.1 §3 fabrics). CID and SGL are filled in by the queue/transport.
namespace cmd {
Sqe connect(uint16_t qid, uint16_t sqsize_zero_based, uint32_t kato_ms, bool disable_sq_flow_control);
Sqe property_get(uint32_t offset, bool eight_bytes);
Sqe property_set(uint32_t offset, uint64_t value, bool eight_bytes);
Sqe identify(uint8_t cns, uint32_t nsid, uint16_t cntid = 0, uint8_t csi = 0);
// numd_bytes: length of the buffer in bytes (multiple of 4); offset in bytes.
Sqe get_log_page(uint8_t lid, uint32_t nsid, uint32_t length_bytes, uint64_t offset_bytes, uint8_t lsp = 0,
                 bool retain_async_event = false);
Sqe set_features(uint8_t fid, uint32_t cdw11, uint32_t cdw12 = 0);
Sqe get_features(uint8_t fid, uint32_t cdw11 = 0);
Sqe keep_alive();
Sqe async_event_request();
Sqe read(uint32_t nsid, uint64_t slba, uint32_t nlb, bool fua = false);
Sqe write(uint32_t nsid, uint64_t slba, uint32_t nlb, bool fua = false);
Sqe flush(uint32_t nsid);
Sqe write_zeroes(uint32_t nsid, uint64_t slba, uint32_t nlb, bool deallocate = false);
// Dataset Management with the Deallocate attribute; nr_ranges 1..256; the
// ranges (struct nvme_dsm_range, 16 bytes each) are the command's data.
Sqe dataset_management_deallocate(uint32_t nsid, uint32_t nr_ranges);
}  // namespace cmd

// Controller property offsets (NVMe Base §3.1.4): CAP, VS, CC, CSTS.
inline constexpr uint32_t kPropCap = 0x00;
inline constexpr uint32_t kPropVs = 0x08;
inline constexpr uint32_t kPropCc = 0x14;
inline constexpr uint32_t kPropCsts = 0x1C;

inline constexpr const char* kDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

}  // namespace nvmefs::wire
