#include "rdma_cm_data.hpp"

#include <fmt/core.h>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::transport::rdma {

namespace {
// IB CM reject reasons (IBTA 1.4 Table 112) that an NVMe/RDMA host meets.
constexpr int kIbRejInvalidServiceId = 8;   // nobody listens on that port
constexpr int kIbRejConsumerDefined = 28;   // the target's rdma_reject(): private data is NVMe/RDMA's
}  // namespace

std::array<uint8_t, kCmReqLen> encode_cm_req(const CmReq& req) {
  std::array<uint8_t, kCmReqLen> out{};  // bytes 8..31 reserved (0)
  wire::put_le16(out.data() + 0, req.recfmt);
  wire::put_le16(out.data() + 2, req.qid);
  wire::put_le16(out.data() + 4, req.hrqsize);
  wire::put_le16(out.data() + 6, req.hsqsize);
  return out;
}

bool decode_cm_rep(std::span<const uint8_t> data, CmRep& rep) {
  if (data.size() < 4) return false;
  rep.recfmt = wire::get_le16(data.data());
  rep.crqsize = wire::get_le16(data.data() + 2);
  return true;
}

const char* reject_status_name(uint16_t sts) {
  switch (RejectStatus(sts)) {
    case RejectStatus::InvalidLength: return "invalid private data length";
    case RejectStatus::InvalidRecfmt: return "invalid RECFMT";
    case RejectStatus::InvalidQid: return "invalid queue ID";
    case RejectStatus::InvalidHsqsize: return "invalid HSQSIZE";
    case RejectStatus::InvalidHrqsize: return "invalid HRQSIZE";
    case RejectStatus::NoResources: return "no resources";
    case RejectStatus::InvalidIrd: return "invalid IRD";
    case RejectStatus::InvalidOrd: return "invalid ORD";
    case RejectStatus::InvalidCntlid: return "invalid controller ID";
  }
  return nullptr;
}

std::string describe_reject(int cm_status, std::span<const uint8_t> data) {
  if (cm_status == kIbRejInvalidServiceId) return "no NVMe/RDMA listener on that port (CM reject: invalid service ID)";
  // NVMe/RDMA reject data: RECFMT (2 bytes), STS (2 bytes), only when the target itself rejected.
  if (cm_status == kIbRejConsumerDefined && data.size() >= 4 && wire::get_le16(data.data()) == 0) {
    const uint16_t sts = wire::get_le16(data.data() + 2);
    if (const char* name = reject_status_name(sts))
      return fmt::format("rejected by the controller: {} (NVMe/RDMA status {:#x})", name, sts);
    return fmt::format("rejected by the controller: NVMe/RDMA status {:#x}", sts);
  }
  return fmt::format("rejected (CM status {})", cm_status);
}

}  // namespace nvmefs::transport::rdma
