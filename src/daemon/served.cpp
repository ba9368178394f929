#include "served.hpp"

#include <algorithm>

#include "identity.hpp"

namespace nvmefs::daemon {

std::string ServedNamespace::name() const { return "ns" + std::to_string(ns->nsid()); }

std::string ServedNamespace::path() const { return dir.empty() ? name() : dir + "/" + name(); }

fs::FileSpec ServedNamespace::file_spec() const {
  fs::FileSpec f;
  f.name = name();
  f.dev = front;
  f.lba_size = ns->info().block_size;
  f.read_only = ns->info().read_only;
  f.xattrs = namespace_xattrs(*controller, *ns);
  return f;
}

std::shared_ptr<ServedNamespace> serve_namespace(std::shared_ptr<host::Controller> ctrl,
                                                 std::shared_ptr<host::Namespace> ns, const Config& cfg,
                                                 std::string dir) {
  auto s = std::make_shared<ServedNamespace>();
  s->dir = std::move(dir);
  s->controller = std::move(ctrl);
  s->ns = std::move(ns);
  s->device = std::make_shared<control::StatsDevice>(s->ns);
  s->cache = cache::make_block_cache(s->device, cfg.cache);
  s->front = std::make_shared<control::StatsDevice>(s->cache);
  return s;
}

void ServedSet::add_controller(std::shared_ptr<host::Controller> ctrl) {
  std::lock_guard lk(mu_);
  controllers_.push_back(std::move(ctrl));
}

void ServedSet::remove_controller(const host::Controller* ctrl) {
  std::lock_guard lk(mu_);
  std::erase_if(controllers_, [&](const auto& c) { return c.get() == ctrl; });
}

std::vector<std::shared_ptr<host::Controller>> ServedSet::controllers() const {
  std::lock_guard lk(mu_);
  return controllers_;
}

std::shared_ptr<host::Controller> ServedSet::controller_for(const std::string& subnqn) const {
  std::lock_guard lk(mu_);
  for (const auto& c : controllers_)
    if (c->options().target.subnqn == subnqn) return c;
  return nullptr;
}

std::shared_ptr<host::Controller> ServedSet::shared(const host::Controller* ctrl) const {
  std::lock_guard lk(mu_);
  for (const auto& c : controllers_)
    if (c.get() == ctrl) return c;
  return nullptr;
}

void ServedSet::add(std::shared_ptr<ServedNamespace> s) {
  std::lock_guard lk(mu_);
  namespaces_.push_back(std::move(s));
}

std::shared_ptr<ServedNamespace> ServedSet::remove(const std::string& path) {
  std::lock_guard lk(mu_);
  auto it = std::find_if(namespaces_.begin(), namespaces_.end(), [&](const auto& s) { return s->path() == path; });
  if (it == namespaces_.end()) return nullptr;
  auto s = std::move(*it);
  namespaces_.erase(it);
  return s;
}

std::shared_ptr<ServedNamespace> ServedSet::find(const host::Controller* ctrl, uint32_t nsid) const {
  std::lock_guard lk(mu_);
  for (const auto& s : namespaces_)
    if (s->controller.get() == ctrl && s->ns->nsid() == nsid) return s;
  return nullptr;
}

std::vector<std::shared_ptr<ServedNamespace>> ServedSet::namespaces() const {
  std::lock_guard lk(mu_);
  return namespaces_;
}

}  // namespace nvmefs::daemon
