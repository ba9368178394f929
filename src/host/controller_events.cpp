// Asynchronous Event Requests (NVMe Base 2.0 §5.2) and namespace rescans.
// AER completions arrive on the admin queue's receive thread: they only set
// a flag for the recovery thread (admin commands must not wait on a receive
// thread) and re-arm. Rescans run on the recovery thread, after an AER of
// type Notice / Namespace Attribute Changed and after every reconnect.
#include <fmt/core.h>

#include <algorithm>

#include "controller_impl.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::host {

using transport::DataDir;

namespace {
constexpr uint8_t kFeatureAsyncEventConfig = 0x0B;
constexpr uint32_t kNamespaceAttributeNotices = 1u << 8;  // §5.27.1.7, Figure 323
constexpr uint32_t kAnaChangeNotices = 1u << 11;
constexpr uint32_t kDiscoveryLogChangeNotices = 1u << 31;  // discovery controllers only
constexpr uint32_t kMaxAsyncEvents = 4;                   // admin slots are shared with admin commands
constexpr uint32_t kNoDeadline = UINT32_MAX;              // an AER stays outstanding until an event occurs
constexpr uint8_t kAsyncEventNotice = 0x2;                // §5.2.1 Figure 146: Asynchronous Event Type
constexpr uint8_t kNoticeNamespaceAttributeChanged = 0x00;
constexpr uint8_t kNoticeAnaChange = 0x03;
constexpr uint8_t kNoticeDiscoveryLogChange = 0xF0;
constexpr uint8_t kLidChangedNamespaceList = 0x04;
}  // namespace

void ControllerImpl::configure_async_events() {
  const uint32_t oaes = wire::get_le32(reinterpret_cast<const uint8_t*>(&info_.id.oaes));
  // OAES bits 8, 11 and 31: the controller can send these notices (the same bits enable them).
  const uint32_t notices = oaes & (kNamespaceAttributeNotices | kAnaChangeNotices | kDiscoveryLogChangeNotices);
  if (!notices) return;
  try {
    setup_command("Set Features (Asynchronous Event Configuration)",
                  wire::cmd::set_features(kFeatureAsyncEventConfig, notices));
  } catch (const Error& e) {
    log::warn("{}: change notices stay off: {}", where(), e.what());
  }
}

void ControllerImpl::arm_async_events() {
  // AERL is 0-based: up to AERL+1 requests may be outstanding (§5.17.2.1).
  const uint32_t n = std::min<uint32_t>(uint32_t(info_.id.aerl) + 1, kMaxAsyncEvents);
  for (uint32_t i = 0; i < n; ++i)
    admin_->issue(wire::cmd::async_event_request(), nullptr, 0, DataDir::None, async_event_done, this, kNoDeadline);
}

void ControllerImpl::async_event_done(void* ctx, int err, const wire::Cqe* cqe) {
  auto* self = static_cast<ControllerImpl*>(ctx);
  if (err != 0 || !cqe || self->closing_) return;  // connection gone: the next bring-up re-arms
  if (cqe->status() != 0) {  // e.g. not supported: do not re-arm
    log::debug("{}: Asynchronous Event Request ended with status {:#x}", self->where(), cqe->status());
    return;
  }
  // Completion DW0 (§5.2.1): type bits 2:0, information 15:8, log page 23:16.
  const uint32_t dw0 = cqe->dw0();
  const uint8_t type = dw0 & 0x7, info = uint8_t(dw0 >> 8), lid = uint8_t(dw0 >> 16);
  if (type == kAsyncEventNotice && info == kNoticeNamespaceAttributeChanged) {
    {
      std::lock_guard lk(self->state_mu_);
      self->rescan_pending_ = true;
    }
    self->state_cv_.notify_all();
  } else if (type == kAsyncEventNotice && info == kNoticeAnaChange) {
    std::shared_ptr<ControllerObserver> o;
    {
      std::lock_guard lk(self->state_mu_);
      o = self->observer_;
    }
    if (o) o->on_ana_change();  // the observer reads the ANA log (RAE cleared), which re-enables the notice
  } else if (type == kAsyncEventNotice && info == kNoticeDiscoveryLogChange) {
    std::shared_ptr<ControllerObserver> o;
    {
      std::lock_guard lk(self->state_mu_);
      o = self->observer_;
    }
    if (o) o->on_discovery_change();  // the observer re-reads log 70h (RAE cleared): re-enables the notice
  } else {
    log::info("{}: asynchronous event type {} info {:#x} (log page {:#x})", self->where(), type, info, lid);
  }
  self->admin_->issue(wire::cmd::async_event_request(), nullptr, 0, DataDir::None, async_event_done, self,
                      kNoDeadline);
}

void ControllerImpl::notify_namespace(const NamespaceChange& change) {
  static constexpr const char* kNames[] = {"added", "removed", "resized"};
  log::info("{}: namespace {} {}", opts_.target.subnqn, change.nsid, kNames[int(change.kind)]);
  std::shared_ptr<ControllerObserver> o;
  {
    std::lock_guard lk(state_mu_);
    o = observer_;
  }
  if (o) o->on_namespace_change(change);
}

void ControllerImpl::rescan_namespaces() {
  std::vector<NamespaceChange> changes;
  try {
    bring_up_deadline_ = Clock::now() + std::chrono::milliseconds(opts_.admin_timeout_ms);
    // Reading the Changed Namespace List with RAE cleared re-enables the
    // notice (§5.16.1.5); the full rescan below finds what changed anyway.
    std::vector<uint8_t> changed(4096);
    setup_command("Get Log Page (Changed Namespace List)",
                  wire::cmd::get_log_page(kLidChangedNamespaceList, 0, uint32_t(changed.size()), 0), changed.data(),
                  uint32_t(changed.size()), DataDir::FromController);
    const std::vector<uint32_t> nsids = active_nsids();
    std::vector<std::shared_ptr<NamespaceImpl>> current;
    {
      std::lock_guard lk(ns_mu_);
      current = namespaces_;
    }
    std::vector<std::shared_ptr<NamespaceImpl>> next;
    auto remove = [&](const std::shared_ptr<NamespaceImpl>& n) {
      n->mark_removed();
      changes.push_back({NamespaceChange::Kind::Removed, n->nsid(), n->nsze(), 0});
    };
    for (uint32_t nsid : nsids) {
      auto old = std::find_if(current.begin(), current.end(), [&](auto& n) { return n->nsid() == nsid; });
      nvme_id_ns id;
      auto fresh = identify_namespace(nsid, id);
      if (old == current.end()) {
        if (fresh) {
          changes.push_back({NamespaceChange::Kind::Added, nsid, 0, id.nsze});
          next.push_back(std::move(fresh));
        }
        continue;
      }
      if (!fresh) continue;  // no longer usable: reported as removed below
      if (fresh->lba_shift() != (*old)->lba_shift()) {
        // Reformatted (another LBA data size): a different device. The old
        // object fails its requests with -ENODEV; the new one replaces it.
        remove(*old);
        old->reset();
        changes.push_back({NamespaceChange::Kind::Added, nsid, 0, id.nsze});
        next.push_back(std::move(fresh));
        continue;
      }
      // Same format: the object upper layers hold takes the new size in
      // place (NVMe Base 2.0 §5.2: Namespace Attribute Changed after a resize).
      if (const uint64_t was = (*old)->nsze(); id.nsze != was) {
        (*old)->resize(id.nsze);
        changes.push_back({NamespaceChange::Kind::Resized, nsid, was, id.nsze});
      }
      next.push_back(*old);
    }
    for (auto& n : current)
      if (n && std::none_of(next.begin(), next.end(), [&](auto& m) { return m == n; })) remove(n);
    std::lock_guard lk(ns_mu_);
    namespaces_ = std::move(next);
  } catch (const Error& e) {
    log::warn("{}: namespace rescan failed: {}", where(), e.what());
  }
  for (const auto& c : changes) notify_namespace(c);
}

}  // namespace nvmefs::host
