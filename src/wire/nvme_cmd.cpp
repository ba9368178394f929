// Command builders. Field positions cite NVMe Base 2.0 (admin), the NVM
// Command Set 1.0 (I/O) and NVMe-oF 1.1 (fabrics).
//
// Every command gets PSDT = 01b (SGL): NVMe-oF capsules always describe data
// with SGLs (NVMe-oF 1.1 §2.2) and the Linux target rejects any other PSDT
// (even for commands without data), so setting it here keeps callers simple.
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::wire::cmd {
namespace {

constexpr uint8_t kFctypePropertySet = 0x00;
constexpr uint8_t kFctypeConnect = 0x01;
constexpr uint8_t kFctypePropertyGet = 0x04;

Sqe base(uint8_t opcode, uint32_t nsid = 0) {
  Sqe s;
  s.set_opcode(opcode);
  s.set_flags(kPsdtSgl);
  s.set_nsid(nsid);
  return s;
}

Sqe fabrics(uint8_t fctype) {
  Sqe s = base(uint8_t(kFabricsOpcode));
  s.b[4] = fctype;  // NVMe-oF 1.1 §2.1 Figure 9: FCTYPE in byte 4
  return s;
}

// NVM Command Set §3.2.4/§3.2.6: SLBA in CDW10-11, NLB (0-based) in CDW12[15:0].
Sqe lba_command(uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t nlb) {
  Sqe s = base(opcode, nsid);
  s.set_cdw(10, uint32_t(slba));
  s.set_cdw(11, uint32_t(slba >> 32));
  s.set_cdw(12, (nlb - 1) & 0xFFFF);
  return s;
}

constexpr uint32_t kFua = 1u << 30;       // CDW12 bit 30
constexpr uint32_t kDeac = 1u << 25;      // Write Zeroes CDW12 bit 25
constexpr uint32_t kDsmAd = 1u << 2;      // DSM CDW11 bit 2: attribute deallocate

}  // namespace

// NVMe-oF 1.1 §3.3 Figure 20: RECFMT CDW10[15:0] = 0, QID CDW10[31:16],
// SQSIZE CDW11[15:0], CATTR CDW11[23:16] (bit 2: SQ flow control disable), KATO CDW12.
Sqe connect(uint16_t qid, uint16_t sqsize_zero_based, uint32_t kato_ms, bool disable_sq_flow_control) {
  Sqe s = fabrics(kFctypeConnect);
  s.set_cdw(10, uint32_t(qid) << 16);
  uint32_t cattr = disable_sq_flow_control ? 0x04 : 0;
  s.set_cdw(11, sqsize_zero_based | (cattr << 16));
  s.set_cdw(12, kato_ms);
  return s;
}

// NVMe-oF 1.1 §3.4/§3.5: ATTRIB CDW10 (bits 2:0, 1 = 8 bytes), OFST CDW11, VALUE CDW12-13.
Sqe property_get(uint32_t offset, bool eight_bytes) {
  Sqe s = fabrics(kFctypePropertyGet);
  s.set_cdw(10, eight_bytes ? 1 : 0);
  s.set_cdw(11, offset);
  return s;
}

Sqe property_set(uint32_t offset, uint64_t value, bool eight_bytes) {
  Sqe s = fabrics(kFctypePropertySet);
  s.set_cdw(10, eight_bytes ? 1 : 0);
  s.set_cdw(11, offset);
  s.set_cdw(12, uint32_t(value));
  s.set_cdw(13, eight_bytes ? uint32_t(value >> 32) : 0);
  return s;
}

// NVMe Base 2.0 §5.17: CNS CDW10[7:0], CNTID CDW10[31:16], CSI CDW11[31:24].
Sqe identify(uint8_t cns, uint32_t nsid, uint16_t cntid, uint8_t csi) {
  Sqe s = base(nvme_admin_identify, nsid);
  s.set_cdw(10, cns | (uint32_t(cntid) << 16));
  s.set_cdw(11, uint32_t(csi) << 24);
  return s;
}

// NVMe Base 2.0 §5.16: LID CDW10[7:0], LSP CDW10[14:8], RAE CDW10[15],
// NUMDL CDW10[31:16], NUMDU CDW11[15:0] (NUMD 0-based dwords), LPOL/LPOU CDW12/13.
Sqe get_log_page(uint8_t lid, uint32_t nsid, uint32_t length_bytes, uint64_t offset_bytes, uint8_t lsp,
                 bool retain_async_event) {
  Sqe s = base(nvme_admin_get_log_page, nsid);
  uint32_t numd = length_bytes / 4 - 1;
  s.set_cdw(10, lid | (uint32_t(lsp & 0x7F) << 8) | (retain_async_event ? 1u << 15 : 0) | ((numd & 0xFFFF) << 16));
  s.set_cdw(11, numd >> 16);
  s.set_cdw(12, uint32_t(offset_bytes));
  s.set_cdw(13, uint32_t(offset_bytes >> 32));
  return s;
}

// NVMe Base 2.0 §5.27 / §5.15: FID CDW10[7:0].
Sqe set_features(uint8_t fid, uint32_t cdw11, uint32_t cdw12) {
  Sqe s = base(nvme_admin_set_features);
  s.set_cdw(10, fid);
  s.set_cdw(11, cdw11);
  s.set_cdw(12, cdw12);
  return s;
}

Sqe get_features(uint8_t fid, uint32_t cdw11) {
  Sqe s = base(nvme_admin_get_features);
  s.set_cdw(10, fid);
  s.set_cdw(11, cdw11);
  return s;
}

Sqe keep_alive() { return base(nvme_admin_keep_alive); }            // 18h, NVMe Base 2.0 §5.25
Sqe async_event_request() { return base(nvme_admin_async_event); }  // 0Ch, NVMe Base 2.0 §5.2

Sqe read(uint32_t nsid, uint64_t slba, uint32_t nlb, bool fua) {
  Sqe s = lba_command(nvme_cmd_read, nsid, slba, nlb);
  if (fua) s.set_cdw(12, s.cdw(12) | kFua);
  return s;
}

Sqe write(uint32_t nsid, uint64_t slba, uint32_t nlb, bool fua) {
  Sqe s = lba_command(nvme_cmd_write, nsid, slba, nlb);
  if (fua) s.set_cdw(12, s.cdw(12) | kFua);
  return s;
}

Sqe flush(uint32_t nsid) { return base(nvme_cmd_flush, nsid); }

// NVM Command Set §3.2.8: same LBA fields as Write, DEAC in CDW12 bit 25.
Sqe write_zeroes(uint32_t nsid, uint64_t slba, uint32_t nlb, bool deallocate) {
  Sqe s = lba_command(nvme_cmd_write_zeroes, nsid, slba, nlb);
  if (deallocate) s.set_cdw(12, s.cdw(12) | kDeac);
  return s;
}

// NVM Command Set §3.2.3: NR (0-based) CDW10[7:0], AD in CDW11 bit 2.
Sqe dataset_management_deallocate(uint32_t nsid, uint32_t nr_ranges) {
  Sqe s = base(nvme_cmd_dsm, nsid);
  s.set_cdw(10, (nr_ranges - 1) & 0xFF);
  s.set_cdw(11, kDsmAd);
  return s;
}

}  // namespace nvmefs::wire::cmd
