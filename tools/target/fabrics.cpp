#include "fabrics.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "auth_dhchap.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::target {
namespace {

using namespace wire::status;

// Connect data layout (NVMe-oF 1.1 Figure 20) and SQE byte offsets (Figure 19),
// used as IPO in Connect Invalid Parameters responses (Figure 21).
constexpr size_t kConnectDataLen = 1024;
constexpr uint16_t kDataCntlidOffset = 16;
constexpr uint16_t kDataSubnqnOffset = 256;
constexpr uint16_t kDataHostnqnOffset = 512;
constexpr uint16_t kSqeQidOffset = 42;
constexpr uint16_t kSqeSqsizeOffset = 44;
constexpr uint8_t kCattrDisableSqFlowControl = 1u << 2;
constexpr uint32_t kVersion13 = 0x00010300;  // VS: NVMe 1.3
constexpr uint16_t kAdminQueueMaxSqsize = 31;  // hosts use 32 admin entries

// A NUL-terminated NQN field of 256 bytes; an unterminated one stays full length (and matches nothing).
std::string nqn_field(std::span<const uint8_t> data, size_t offset) {
  const char* p = reinterpret_cast<const char*>(data.data() + offset);
  return std::string(p, strnlen(p, 256));
}

// Connect Invalid Parameters: IATTR says whether IPO is an offset in the
// Connect data (1) or in the SQE (0).
Reply invalid_parameter(uint16_t ipo, bool in_data) {
  Reply r;
  r.status = dnr(kConnectInvalidParameters);
  r.dw0 = ipo | (uint32_t(in_data ? 1 : 0) << 16);
  return r;
}

Reply failure(uint16_t status) {
  Reply r;
  r.status = status;
  return r;
}

}  // namespace

Reply handle_connect(TargetContext& ctx, const wire::Sqe& sqe, std::span<const uint8_t> data, int fd,
                     QueueBinding& binding) {
  if (data.size() < kConnectDataLen) return failure(dnr(kDataSglLengthInvalid));
  if ((sqe.cdw(10) & 0xFFFF) != 0) return failure(dnr(kConnectIncompatibleFormat));  // RECFMT 0 only
  const uint16_t qid = uint16_t(sqe.cdw(10) >> 16);
  const uint16_t sqsize = uint16_t(sqe.cdw(11) & 0xFFFF);
  const uint8_t cattr = uint8_t(sqe.cdw(11) >> 16);
  const uint32_t kato = sqe.cdw(12);
  const std::string subnqn = nqn_field(data, kDataSubnqnOffset);
  const std::string hostnqn = nqn_field(data, kDataHostnqnOffset);
  const uint16_t cntlid = wire::get_le16(data.data() + kDataCntlidOffset);

  const bool discovery = subnqn == wire::kDiscoveryNqn;
  std::shared_ptr<Subsystem> sub = discovery ? nullptr : ctx.find_subsystem(subnqn);
  if (!discovery && !sub) {
    log::warn("connect from {}: unknown subsystem '{}'", hostnqn, subnqn);
    return invalid_parameter(kDataSubnqnOffset, true);
  }
  if (sub && !sub->host_allowed(hostnqn)) {
    log::warn("connect from {} to {}: host not allowed", hostnqn, subnqn);
    return failure(dnr(kConnectInvalidHost));
  }
  if (sub && ctx.faults.should_refuse_connect()) {
    log::info("fault injection: refusing connect of {} qid {} (controller busy)", hostnqn, qid);
    return failure(kConnectControllerBusy);
  }
  const uint16_t mqes = uint16_t(ctx.options.queue_size - 1);
  const uint16_t max_sqsize = qid == 0 ? std::max(mqes, kAdminQueueMaxSqsize) : mqes;
  if (sqsize == 0 || sqsize > max_sqsize) return invalid_parameter(kSqeSqsizeOffset, false);

  std::shared_ptr<Controller> ctrl;
  if (qid == 0) {
    ControllerLimits limits{discovery ? uint16_t(0) : ctx.options.max_io_queues, ctx.options.queue_size};
    ctrl = ctx.controllers.create(sub, hostnqn, limits, kato);
    if (!ctrl) return failure(kConnectControllerBusy);
  } else {
    if (discovery) return invalid_parameter(kSqeQidOffset, false);
    ctrl = ctx.controllers.find(cntlid, sub.get(), hostnqn);
    if (!ctrl) return invalid_parameter(kDataCntlidOffset, true);
    if (!ctrl->ready()) return failure(dnr(kCommandSequenceError));
  }
  if (!ctrl->attach_queue(qid, fd)) {
    if (qid == 0) ctx.controllers.remove(ctrl->cntlid());
    return invalid_parameter(kSqeQidOffset, false);
  }
  binding.controller = ctrl;
  binding.qid = qid;
  binding.sqsize = sqsize;
  binding.sq_flow_control_disabled = cattr & kCattrDisableSqFlowControl;
  binding.auth_required = ctx.options.dhchap && !discovery;
  log::info("{} qid {} connected: controller {} of {} for {} (sqsize {}{}, kato {} ms)", qid == 0 ? "admin" : "I/O",
            qid, ctrl->cntlid(), subnqn, hostnqn, sqsize, binding.sq_flow_control_disabled ? ", no SQ flow control" : "",
            kato);
  Reply r;
  // DW0: CNTLID, AUTHREQ (bits 31:16): ATR when in-band authentication is required (NVMe-oF 1.1 Figure 21).
  r.dw0 = ctrl->cntlid() | (binding.auth_required ? host::kConnectAuthreqAtr : 0);
  return r;
}

Reply handle_property(Controller& ctrl, const wire::Sqe& sqe) {
  const bool eight_bytes = sqe.cdw(10) & 1;  // ATTRIB.SIZE
  const uint32_t offset = sqe.cdw(11);
  Reply r;
  if (sqe.fctype() == kFctypePropertySet) {
    if (offset != wire::kPropCc || eight_bytes) return failure(dnr(kInvalidField));
    ctrl.set_cc(sqe.cdw(12));
    return r;
  }
  uint64_t value;
  switch (offset) {
    case wire::kPropCap: value = ctrl.cap(); break;
    case wire::kPropVs: value = kVersion13; break;
    case wire::kPropCc: value = ctrl.cc(); break;
    case wire::kPropCsts: value = ctrl.csts(); break;
    default: return failure(dnr(kInvalidField));
  }
  r.dw0 = uint32_t(value);
  r.dw1 = eight_bytes ? uint32_t(value >> 32) : 0;
  return r;
}

}  // namespace nvmefs::target
