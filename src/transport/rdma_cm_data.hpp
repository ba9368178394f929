// NVMe/RDMA private data of the RDMA CM exchange (NVMe-oF 1.1 §7.3.2,
// Figures 60-62; Linux include/linux/nvme-rdma.h): the host's connect
// request, the controller's accept and reject. Pure codecs, no verbs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace nvmefs::transport::rdma {

inline constexpr size_t kCmReqLen = 32;

// RDMA_CM_REQUEST private data. RECFMT 0 is the only format defined.
struct CmReq {
  uint16_t recfmt = 0;
  uint16_t qid = 0;
  uint16_t hrqsize = 0;  // host receive queue size: responses the host can take
  uint16_t hsqsize = 0;  // host send queue size, 0-based (as Connect SQSIZE)
};
std::array<uint8_t, kCmReqLen> encode_cm_req(const CmReq& req);

// RDMA_CM_ACCEPT private data (the first 4 bytes of what arrives; IB CM pads it).
struct CmRep {
  uint16_t recfmt = 0;
  uint16_t crqsize = 0;  // controller receive queue size: commands it can take
};
// False when fewer than 4 bytes arrived.
bool decode_cm_rep(std::span<const uint8_t> data, CmRep& rep);

// RDMA_CM_REJECT status values (NVMe-oF 1.1 Figure 62).
enum class RejectStatus : uint16_t {
  InvalidLength = 0x01,
  InvalidRecfmt = 0x02,
  InvalidQid = 0x03,
  InvalidHsqsize = 0x04,
  InvalidHrqsize = 0x05,
  NoResources = 0x06,
  InvalidIrd = 0x07,
  InvalidOrd = 0x08,
  InvalidCntlid = 0x09,
};
const char* reject_status_name(uint16_t sts);

// One line for an RDMA_CM_EVENT_REJECTED: `cm_status` is the event's status
// (IB CM reject reason for IB/RoCE), `data` its private data (untrusted).
std::string describe_reject(int cm_status, std::span<const uint8_t> data);

}  // namespace nvmefs::transport::rdma
