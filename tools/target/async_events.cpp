#include "async_events.hpp"

#include <algorithm>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {

bool AsyncEvents::hold_request(uint16_t cid, uint32_t limit) {
  {
    std::lock_guard lock(mu_);
    if (held_.size() >= limit) return false;
    held_.push_back(cid);
  }
  cv_.notify_all();
  return true;
}

void AsyncEvents::raise(uint32_t dw0, bool& masked) {
  if (masked) return;  // reported already and the log not read since (§5.2.1)
  masked = true;
  pending_.push_back(dw0);
  cv_.notify_all();
}

void AsyncEvents::drop_pending(uint32_t dw0) {
  pending_.erase(std::remove(pending_.begin(), pending_.end(), dw0), pending_.end());
}

void AsyncEvents::namespace_changed(uint32_t nsid, bool enabled) {
  std::lock_guard lock(mu_);
  auto at = std::lower_bound(changed_.begin(), changed_.end(), nsid);
  if (at == changed_.end() || *at != nsid) {
    if (changed_.size() < kChangedNamespaceListLen / 4) changed_.insert(at, nsid);
    else changed_overflow_ = true;
  }
  if (enabled) raise(kAenNamespaceAttributeChanged, ns_masked_);
}

void AsyncEvents::discovery_changed(bool enabled) {
  std::lock_guard lock(mu_);
  if (enabled) raise(kAenDiscoveryLogChanged, discovery_masked_);
}

std::vector<uint8_t> AsyncEvents::changed_namespace_log(bool rae) {
  std::vector<uint8_t> out(kChangedNamespaceListLen);
  std::lock_guard lock(mu_);
  if (changed_overflow_) {
    wire::put_le32(out.data(), 0xFFFFFFFFu);
  } else {
    for (size_t i = 0; i < changed_.size(); ++i) wire::put_le32(out.data() + 4 * i, changed_[i]);
  }
  if (!rae) {  // §5.16.1.5: reading with RAE cleared clears the list and the event
    changed_.clear();
    changed_overflow_ = false;
    ns_masked_ = false;
    drop_pending(kAenNamespaceAttributeChanged);  // the host has the news already
  }
  return out;
}

void AsyncEvents::discovery_log_read(bool rae) {
  if (rae) return;
  std::lock_guard lock(mu_);
  discovery_masked_ = false;
  drop_pending(kAenDiscoveryLogChanged);
}

std::optional<AsyncEvents::Completion> AsyncEvents::next() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopped_ || (!held_.empty() && !pending_.empty()); });
  if (stopped_) return std::nullopt;
  Completion c{held_.front(), pending_.front()};
  held_.erase(held_.begin());
  pending_.pop_front();
  return c;
}

void AsyncEvents::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

}  // namespace nvmefs::target
