#include "control_commands.hpp"

#include <fmt/core.h>

#include <cstring>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/common/size_parse.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw Error(msg, 22 /*EINVAL*/); }

// The words of a command: its --nqn / --ns options and its positional arguments.
struct Args {
  std::string nqn;
  std::vector<std::string> specs;  // --ns, repeatable
  std::vector<std::string> positional;
};

Args split(const std::vector<std::string>& words, bool nqn_option, bool ns_option) {
  Args a;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    const bool nqn = nqn_option && w == "--nqn", ns = ns_option && w == "--ns";
    if (nqn || ns) {
      if (i + 1 == words.size()) fail(fmt::format("{} {}: needs a value", words[0], w));
      (nqn ? a.nqn : a.specs.emplace_back()) = words[++i];
    } else if (w.rfind("--", 0) == 0) {
      fail(fmt::format("{}: unknown option '{}'", words[0], w));
    } else {
      a.positional.push_back(w);
    }
  }
  return a;
}

void expect_count(const std::string& cmd, const Args& a, size_t n, const char* usage) {
  if (a.positional.size() != n) fail(fmt::format("usage: {} {}", cmd, usage));
}

std::shared_ptr<Subsystem> subsystem_for(TargetContext& ctx, const std::string& nqn) {
  if (nqn.empty()) {
    auto all = ctx.subsystems.all();
    if (all.empty()) fail("no subsystem (give --nqn)");
    return all.front();
  }
  auto sub = ctx.subsystems.find(nqn);
  if (!sub) fail(fmt::format("no subsystem {}", nqn));
  return sub;
}

uint32_t nsid_arg(const std::string& s) {
  auto v = parse_uint(s);
  if (!v || *v < 1 || *v > kMaxNsid) fail(fmt::format("'{}' is not an NSID in 1..{}", s, kMaxNsid));
  return uint32_t(*v);
}

// Tells every controller of `sub` (NVMe Base 2.0 §5.2.1: Namespace Attribute Changed).
void notify_namespace_change(TargetContext& ctx, const Subsystem& sub, uint32_t nsid) {
  for (auto& c : ctx.controllers.all())
    if (c->subsystem() == &sub)
      c->events().namespace_changed(nsid, c->async_event_config.load() & Controller::kAecNamespaceAttribute);
}

// Tells the persistent discovery controllers (nonzero KATO) of the hosts that
// see `sub` (NVMe Base 2.0 §5.2.1: Discovery Log Page Change).
void notify_discovery_change(TargetContext& ctx, const Subsystem& sub) {
  for (auto& c : ctx.controllers.all())
    if (c->is_discovery() && c->kato_ms.load() != 0 && sub.host_allowed(c->hostnqn()))
      c->events().discovery_changed(c->async_event_config.load() & Controller::kAecDiscoveryLogChange);
}

// A copy of the table with `ns` at its NSID (null: removed there).
std::shared_ptr<NamespaceTable> with(const NamespaceTable& old, uint32_t nsid, std::shared_ptr<const Namespace> ns) {
  auto next = std::make_shared<NamespaceTable>(old);
  if (next->by_nsid.size() < nsid) next->by_nsid.resize(nsid);
  next->by_nsid[nsid - 1] = std::move(ns);
  while (!next->by_nsid.empty() && !next->by_nsid.back()) next->by_nsid.pop_back();
  return next;
}

std::string ns_add(TargetContext& ctx, const std::vector<std::string>& words) {
  Args a = split(words, true, false);
  expect_count(words[0], a, 2, "[--nqn NQN] NSID PATH[:SIZE]|ram:SIZE");
  auto sub = subsystem_for(ctx, a.nqn);
  const uint32_t nsid = nsid_arg(a.positional[0]);
  auto table = sub->namespaces();
  if (table->find(nsid)) fail(fmt::format("{}: namespace {} exists", sub->nqn, nsid));
  auto ns = make_namespace(sub->nqn, nsid, parse_namespace_spec(a.positional[1]), ctx.options);
  const std::string what = fmt::format("{} nsid {}: {} ({} blocks of {} bytes)", sub->nqn, nsid, ns->storage->name(),
                                       ns->lba_count, 1u << ns->lba_shift);
  sub->set_namespaces(with(*table, nsid, std::move(ns)));
  notify_namespace_change(ctx, *sub, nsid);
  log::info("control: added {}", what);
  return "added " + what;
}

std::string ns_remove(TargetContext& ctx, const std::vector<std::string>& words) {
  Args a = split(words, true, false);
  expect_count(words[0], a, 1, "[--nqn NQN] NSID");
  auto sub = subsystem_for(ctx, a.nqn);
  const uint32_t nsid = nsid_arg(a.positional[0]);
  auto table = sub->namespaces();
  const Namespace* ns = table->find(nsid);
  if (!ns) fail(fmt::format("{}: no namespace {}", sub->nqn, nsid));
  ns->storage->flush();  // queues may still finish commands on it; the storage closes after the last
  sub->set_namespaces(with(*table, nsid, nullptr));
  notify_namespace_change(ctx, *sub, nsid);
  log::info("control: removed {} nsid {}", sub->nqn, nsid);
  return fmt::format("removed {} nsid {}", sub->nqn, nsid);
}

std::string ns_resize(TargetContext& ctx, const std::vector<std::string>& words) {
  Args a = split(words, true, false);
  expect_count(words[0], a, 2, "[--nqn NQN] NSID SIZE");
  auto sub = subsystem_for(ctx, a.nqn);
  const uint32_t nsid = nsid_arg(a.positional[0]);
  auto size = parse_size(a.positional[1]);
  auto table = sub->namespaces();
  const Namespace* ns = table->find(nsid);
  if (!ns) fail(fmt::format("{}: no namespace {}", sub->nqn, nsid));
  const uint64_t block = 1ull << ns->lba_shift;
  if (!size || *size < block || *size % block)
    fail(fmt::format("'{}' is not a size of at least one block and a multiple of {}", a.positional[1], block));
  if (ctx.options.read_only) fail("the target is --read-only");
  ns->storage->resize(*size);
  auto next = resized_namespace(*ns);
  const uint64_t blocks = next->lba_count;
  sub->set_namespaces(with(*table, nsid, std::move(next)));
  notify_namespace_change(ctx, *sub, nsid);
  log::info("control: resized {} nsid {} to {} blocks", sub->nqn, nsid, blocks);
  return fmt::format("resized {} nsid {}: {} blocks of {} bytes", sub->nqn, nsid, blocks, block);
}

std::string subsys_add(TargetContext& ctx, const std::vector<std::string>& words) {
  Args a = split(words, false, true);
  expect_count(words[0], a, 1, "NQN [--ns PATH[:SIZE]|ram:SIZE]...");
  SubsystemSpec spec;
  spec.nqn = a.positional[0];
  check_nqn_syntax("subsys-add", spec.nqn);
  if (spec.nqn == wire::kDiscoveryNqn) fail("the discovery NQN is served automatically");
  if (ctx.options.dhchap && ctx.options.allowed_hosts.empty())
    fail("--dhchap-key needs --allow-host before any --nqn for subsystems added at runtime");
  if (ctx.subsystems.find(spec.nqn)) fail(fmt::format("subsystem {} exists", spec.nqn));
  for (const auto& s : a.specs) spec.namespaces.push_back(parse_namespace_spec(s));
  auto sub = make_subsystem(spec, ctx.options);
  if (!ctx.subsystems.add(sub)) fail(fmt::format("subsystem {} exists", spec.nqn));
  notify_discovery_change(ctx, *sub);
  log::info("control: added subsystem {} with {} namespaces", spec.nqn, spec.namespaces.size());
  return fmt::format("added subsystem {} ({} namespaces)", spec.nqn, spec.namespaces.size());
}

std::string subsys_remove(TargetContext& ctx, const std::vector<std::string>& words) {
  Args a = split(words, false, false);
  expect_count(words[0], a, 1, "NQN");
  auto sub = ctx.subsystems.remove(a.positional[0]);
  if (!sub) fail(fmt::format("no subsystem {}", a.positional[0]));
  size_t dropped = 0;
  for (auto& c : ctx.controllers.all())
    if (c->subsystem() == sub.get()) {
      c->kill();  // as nvmet does when a subsystem leaves the port: its hosts reconnect elsewhere or fail
      ++dropped;
    }
  sub->namespaces()->for_each([](const Namespace& ns) { ns.storage->flush(); });
  notify_discovery_change(ctx, *sub);
  log::info("control: removed subsystem {} ({} controllers dropped)", sub->nqn, dropped);
  return fmt::format("removed subsystem {} ({} controllers dropped)", sub->nqn, dropped);
}

}  // namespace

std::string run_control_command(TargetContext& ctx, const std::vector<std::string>& words) {
  if (words.empty()) fail("empty command");
  const std::string& cmd = words[0];
  if (cmd == "ns-add") return ns_add(ctx, words);
  if (cmd == "ns-remove") return ns_remove(ctx, words);
  if (cmd == "ns-resize") return ns_resize(ctx, words);
  if (cmd == "subsys-add") return subsys_add(ctx, words);
  if (cmd == "subsys-remove") return subsys_remove(ctx, words);
  fail(fmt::format("unknown command '{}' (ns-add, ns-remove, ns-resize, subsys-add, subsys-remove)", cmd));
}

}  // namespace nvmefs::target
