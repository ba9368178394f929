#include "admin.hpp"

#include <algorithm>
#include <cstring>

#include "identify.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::target {
namespace {

using namespace wire::status;

// Admin opcodes (NVMe Base 2.0 Figure 84).
constexpr uint8_t kOpGetLogPage = 0x02;
constexpr uint8_t kOpIdentify = 0x06;
constexpr uint8_t kOpAbort = 0x08;
constexpr uint8_t kOpSetFeatures = 0x09;
constexpr uint8_t kOpGetFeatures = 0x0A;
constexpr uint8_t kOpAsyncEventRequest = 0x0C;
constexpr uint8_t kOpKeepAlive = 0x18;

// Feature identifiers (NVMe Base 2.0 Figure 317).
constexpr uint8_t kFidArbitration = 0x01;
constexpr uint8_t kFidPowerManagement = 0x02;
constexpr uint8_t kFidTemperatureThreshold = 0x04;
constexpr uint8_t kFidErrorRecovery = 0x05;
constexpr uint8_t kFidVolatileWriteCache = 0x06;
constexpr uint8_t kFidNumberOfQueues = 0x07;
constexpr uint8_t kFidInterruptCoalescing = 0x08;
constexpr uint8_t kFidAsyncEventConfig = 0x0B;
constexpr uint8_t kFidKeepAliveTimer = 0x0F;

constexpr uint32_t kDefaultTemperatureThreshold = 273 + 70;  // Kelvin

Reply status_only(uint16_t status) {
  Reply r;
  r.status = status;
  return r;
}

Reply with_data(std::vector<uint8_t> data) {
  Reply r;
  r.data = std::move(data);
  return r;
}

// Identify (NVMe Base 2.0 §5.17): CNS in CDW10 7:0, CSI in CDW11 31:24.
Reply identify(const TargetContext& ctx, const Controller& ctrl, const wire::Sqe& sqe) {
  const uint8_t cns = uint8_t(sqe.cdw(10));
  const uint8_t csi = uint8_t(sqe.cdw(11) >> 24);
  if (cns == 0x01) return with_data(identify_controller(ctrl, ctx.options));
  Subsystem* sub = ctrl.subsystem();
  if (!sub) return status_only(dnr(kInvalidField));  // discovery controllers have no namespaces
  const auto namespaces = sub->namespaces();
  if (cns == 0x02) return with_data(active_namespace_list(*namespaces, sqe.nsid()));
  if (cns == 0x06) {  // I/O Command Set specific controller: no NVM limits to report
    if (csi != 0) return status_only(dnr(kInvalidField));
    return with_data(std::vector<uint8_t>(kIdentifyLen));
  }
  if (cns != 0x00 && cns != 0x03 && cns != 0x05) return status_only(dnr(kInvalidField));
  const Namespace* ns = namespaces->find(sqe.nsid());
  // §5.17.2.1: a valid but inactive NSID (1..NN) reads as zeros for CNS 00h;
  // any other NSID is Invalid Namespace or Format.
  if (cns == 0x00 && !ns && sqe.nsid() >= 1 && sqe.nsid() <= kMaxNsid)
    return with_data(identify_namespace(nullptr, ctx.options.read_only));
  if (!ns) return status_only(dnr(kInvalidNamespace));
  if (cns == 0x00) return with_data(identify_namespace(ns, ctx.options.read_only));
  if (cns == 0x03) return with_data(namespace_descriptors(*ns));
  if (csi != 0) return status_only(dnr(kInvalidField));
  return with_data(std::vector<uint8_t>(kIdentifyLen));  // CNS 05h, NVM: nothing beyond CNS 00h
}

// Get Log Page (NVMe Base 2.0 §5.16): LID CDW10 7:0, NUMDL CDW10 31:16,
// NUMDU CDW11 15:0 (0-based dwords), offset CDW12/13 in bytes (dword aligned),
// RAE CDW10 bit 15 (Retain Asynchronous Event).
Reply get_log_page(const TargetContext& ctx, Controller& ctrl, const LocalAddress& local, const wire::Sqe& sqe) {
  const uint8_t lid = uint8_t(sqe.cdw(10));
  const bool rae = sqe.cdw(10) & (1u << 15);
  const uint64_t numd = ((uint64_t(sqe.cdw(11) & 0xFFFF) << 16) | (sqe.cdw(10) >> 16)) + 1;
  const uint64_t offset = (uint64_t(sqe.cdw(13)) << 32) | sqe.cdw(12);
  std::vector<uint8_t> log;
  if (!build_log_page(lid, ctx, ctrl, local, rae, log)) return status_only(dnr(kInvalidLogPage));
  if (ctrl.is_discovery()) ctx.faults.corrupt_discovery_log(log);
  if (offset % 4 || offset > log.size()) return status_only(dnr(kInvalidField));
  Reply r;
  r.data.assign(size_t(numd * 4), 0);  // past the end of the log: zeros
  size_t n = std::min<size_t>(r.data.size(), log.size() - offset);
  std::memcpy(r.data.data(), log.data() + offset, n);
  return r;
}

// Set Features / Get Features (NVMe Base 2.0 §5.27, §5.15): FID CDW10 7:0, value CDW11.
Reply set_features(Controller& ctrl, const wire::Sqe& sqe) {
  const uint8_t fid = uint8_t(sqe.cdw(10));
  const uint32_t value = sqe.cdw(11);
  Reply r;
  switch (fid) {
    case kFidKeepAliveTimer: ctrl.kato_ms = value; return r;
    case kFidAsyncEventConfig: ctrl.async_event_config = value; return r;
    case kFidNumberOfQueues:
      if (ctrl.is_discovery() || (value & 0xFFFF) == 0xFFFF || (value >> 16) == 0xFFFF)
        return status_only(dnr(kInvalidField));
      r.dw0 = ctrl.grant_queues(value);
      return r;
    case kFidVolatileWriteCache:
      if (ctrl.is_discovery()) return status_only(dnr(kInvalidField));
      ctrl.write_cache_enabled = value & 1;
      return r;
    default: return status_only(dnr(kInvalidField));
  }
}

Reply get_features(const Controller& ctrl, const wire::Sqe& sqe) {
  const uint8_t fid = uint8_t(sqe.cdw(10));
  const uint8_t select = uint8_t((sqe.cdw(10) >> 8) & 7);
  Reply r;
  if (select == 3) {  // supported capabilities: changeable where Set Features accepts it
    bool changeable = fid == kFidKeepAliveTimer || fid == kFidAsyncEventConfig || fid == kFidNumberOfQueues ||
                      fid == kFidVolatileWriteCache;
    r.dw0 = changeable ? 1u << 2 : 0;
    return r;
  }
  switch (fid) {
    case kFidKeepAliveTimer: r.dw0 = ctrl.kato_ms; return r;
    case kFidAsyncEventConfig: r.dw0 = ctrl.async_event_config; return r;
    case kFidNumberOfQueues:
      if (ctrl.is_discovery()) return status_only(dnr(kInvalidField));
      r.dw0 = ctrl.granted_queues();
      return r;
    case kFidVolatileWriteCache: r.dw0 = ctrl.write_cache_enabled ? 1 : 0; return r;
    case kFidTemperatureThreshold: r.dw0 = kDefaultTemperatureThreshold; return r;
    case kFidArbitration:
    case kFidPowerManagement:
    case kFidErrorRecovery:
    case kFidInterruptCoalescing: return r;  // all zero: defaults, nothing configurable
    default: return status_only(dnr(kInvalidField));
  }
}

// Asynchronous Event Request (NVMe Base 2.0 §5.2): held until an event
// (async_events.hpp) completes it; at most AERL + 1 of them.
Reply async_event_request(Controller& ctrl, const wire::Sqe& sqe) {
  if (!ctrl.events().hold_request(sqe.cid(), uint32_t(kAerl) + 1)) return status_only(dnr(status::kAerLimitExceeded));
  Reply r;
  r.hold = true;
  return r;
}

}  // namespace

Reply execute_admin(const TargetContext& ctx, Controller& ctrl, const LocalAddress& local, const wire::Sqe& sqe) {
  switch (sqe.opcode()) {
    case kOpIdentify: {
      Reply r = identify(ctx, ctrl, sqe);
      if (!ctrl.is_discovery()) ctx.faults.corrupt_identify(uint8_t(sqe.cdw(10)), r.data);
      return r;
    }
    case kOpGetLogPage: return get_log_page(ctx, ctrl, local, sqe);
    case kOpSetFeatures: return set_features(ctrl, sqe);
    case kOpGetFeatures: return get_features(ctrl, sqe);
    case kOpAsyncEventRequest: return async_event_request(ctrl, sqe);
    case kOpKeepAlive: return Reply{};
    case kOpAbort: {
      Reply r;
      r.dw0 = 1;  // not aborted (NVMe Base 2.0 §5.1): commands here finish promptly anyway
      return r;
    }
    default: return status_only(dnr(kInvalidOpcode));
  }
}

}  // namespace nvmefs::target
