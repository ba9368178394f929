#include "control_commands.hpp"

#include <unistd.h>

#include <cstring>
#include <fmt/format.h>
#include <thread>

#include "nvmefs/common/error.hpp"
#include "nvmefs/control/protocol.hpp"

namespace nvmefs::daemon {
namespace {

using json::Value;

Value latency(const control::LatencySummary& l) {
  Value v = Value::object();
  v.set("count", l.count);
  v.set("mean", l.mean);
  v.set("p50", l.p50);
  v.set("p99", l.p99);
  v.set("p99.9", l.p999);
  v.set("max", l.max);
  return v;
}

Value layer(const control::StatsDevice& dev) {
  control::DeviceStats s = dev.stats();
  Value v = Value::object();
  v.set("reads", s.reads.ops);
  v.set("writes", s.writes.ops);
  v.set("flushes", s.flushes.ops);
  v.set("other", s.other.ops);
  v.set("read_bytes", s.reads.bytes);
  v.set("write_bytes", s.writes.bytes);
  v.set("errors", s.reads.errors + s.writes.errors + s.flushes.errors + s.other.errors);
  v.set("in_flight", s.in_flight);
  v.set("read_latency_us", latency(s.read_latency));
  v.set("write_latency_us", latency(s.write_latency));
  v.set("flush_latency_us", latency(s.flush_latency));
  return v;
}

Value cache_stats(const cache::BlockCache& c) {
  cache::CacheStats s = c.stats();
  Value v = Value::object();
  v.set("mode", cache::mode_name(c.options().mode));
  v.set("read_hits", s.read_hits);
  v.set("read_misses", s.read_misses);
  v.set("readahead_blocks", s.readahead_blocks);
  v.set("evictions", s.evictions);
  v.set("dirty_bytes", s.dirty_bytes);
  v.set("cached_bytes", s.cached_bytes);
  v.set("writeback_bytes", s.writeback_bytes);
  v.set("throttled_writes", s.throttled_writes);
  return v;
}

// The reconnect machinery's view of a controller (state and counters), as
// documented in nvmefs-ctl(8); the state goes under `state_key` ("state" in a
// controller object, "controller_state" in a namespace's stats).
void add_recovery(Value& v, const host::Controller& ctrl, const char* state_key) {
  host::ControllerStats s = ctrl.stats();
  v.set(state_key, host::controller_state_name(s.state));
  v.set("reconnects", s.reconnects);
  v.set("reconnect_attempts", s.reconnect_attempts);
  v.set("down_ms", s.down_ms);
  v.set("last_recovery_ms", s.last_recovery_ms);
  v.set("last_error", s.last_error);
}

Value controller_info(const host::Controller& ctrl) {
  const host::ControllerInfo& ci = ctrl.info();
  const host::TransportId& tid = ctrl.options().target;
  Value v = Value::object();
  v.set("subnqn", ci.subnqn);
  v.set("trtype", tid.trtype);
  v.set("traddr", tid.traddr);
  v.set("trsvcid", tid.trsvcid);
  v.set("cntlid", unsigned(ci.cntlid));
  add_recovery(v, ctrl, "state");
  v.set("model", ci.model);
  v.set("serial", ci.serial);
  v.set("firmware", ci.firmware);
  v.set("nr_io_queues", unsigned(ci.nr_io_queues));
  v.set("queue_size", unsigned(ci.queue_size));
  v.set("kato_ms", ci.kato_ms);
  v.set("hdr_digest", ci.header_digest);
  v.set("data_digest", ci.data_digest);
  return v;
}

Value namespace_identity(const ServedNamespace& s) {
  Value v = Value::object();
  v.set("path", s.path());
  v.set("subnqn", s.controller->info().subnqn);
  v.set("nsid", s.ns->nsid());
  v.set("size_bytes", s.ns->info().size_bytes.load());
  v.set("lba_size", s.ns->info().block_size);
  v.set("read_only", s.ns->info().read_only);
  return v;
}

class Commands {
 public:
  Commands(const Config& cfg, const ServedSet& served) : cfg_(cfg), served_(served), started_(std::chrono::steady_clock::now()) {}

  Value operator()(const Value& req) const {
    const std::string& cmd = req.get("cmd").as_string();
    if (cmd == control::kCmdPing) return ping();
    if (cmd == control::kCmdInfo) return info();
    if (cmd == control::kCmdStats) return stats();
    if (cmd == control::kCmdFlush) return flush();
    if (cmd == control::kCmdDropCache) return drop_cache();
    if (cmd == control::kCmdReconnect) return reconnect();
    throw Error(fmt::format("unknown command '{}' (ping, info, stats, flush, drop-cache, reconnect)", cmd));
  }

 private:
  static Value ping() {
    Value v = Value::object();
    v.set("ok", true);
    v.set("protocol", control::kProtocolVersion);
    return v;
  }

  Value header() const {
    Value v = Value::object();
    v.set("ok", true);
    v.set("mountpoint", cfg_.mountpoint);
    v.set("source", cfg_.source);
    return v;
  }

  Value info() const {
    Value v = header();
    v.set("version", NVMEFS_VERSION);
    v.set("protocol", control::kProtocolVersion);
    v.set("pid", int64_t(::getpid()));
    v.set("cache_mode", cache::mode_name(cfg_.cache.mode));
    v.set("cache_size", cfg_.cache.cache_size);
    v.set("cache_block", cfg_.cache.cache_block);
    v.set("read_only", cfg_.fs.read_only);
    Value& ctrls = v.set("controllers", Value::array());
    for (const auto& c : served_.controllers()) ctrls.push(controller_info(*c));
    Value& nss = v.set("namespaces", Value::array());
    for (const auto& s : served_.namespaces()) nss.push(namespace_identity(*s));
    return v;
  }

  Value stats() const {
    Value v = header();
    v.set("uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    Value& nss = v.set("namespaces", Value::array());
    for (const auto& s : served_.namespaces()) {
      Value n = namespace_identity(*s);
      add_recovery(n, *s->controller, "controller_state");
      n.set("file", layer(*s->front));
      n.set("network", layer(*s->device));
      n.set("cache", cache_stats(*s->cache));
      nss.push(std::move(n));
    }
    return v;
  }

  // Write back + NVMe Flush (the cache's Flush does both), namespace by namespace.
  Value flush() const {
    uint64_t before = 0, after = 0;
    const auto served = served_.namespaces();
    for (const auto& s : served) before += s->cache->stats().writeback_bytes;
    for (const auto& s : served) {
      int rc = submit_and_wait(*s->cache, IoOp::Flush, 0, 0, nullptr);
      if (rc < 0) throw Error(fmt::format("flush of {} failed: {}", s->path(), std::strerror(-rc)));
    }
    for (const auto& s : served) after += s->cache->stats().writeback_bytes;
    Value v = header();
    v.set("namespaces", uint64_t(served.size()));
    v.set("written_back_bytes", after - before);
    return v;
  }

  Value drop_cache() const {
    uint64_t before = 0, after = 0;
    for (const auto& s : served_.namespaces()) {
      before += s->cache->stats().cached_bytes;
      if (int rc = s->cache->drop(); rc < 0)
        throw Error(fmt::format("drop-cache of {} failed while writing back: {}", s->path(), std::strerror(-rc)));
      after += s->cache->stats().cached_bytes;
    }
    Value v = header();
    v.set("dropped_bytes", before > after ? before - after : 0);
    return v;
  }

  // Asks every controller to reconnect now (a dead one starts over, a
  // connecting one retries at once, a live one is left alone), waits a little
  // for the attempts to settle, and reports each controller's state.
  Value reconnect() const {
    const auto controllers = served_.controllers();
    for (const auto& c : controllers) c->reconnect();
    const auto deadline = std::chrono::steady_clock::now() + kReconnectSettle;
    auto settled = [&controllers] {
      for (const auto& c : controllers)
        if (c->state() == host::ControllerState::Connecting) return false;
      return true;
    };
    while (!settled() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(kReconnectPoll);
    Value v = header();
    Value& ctrls = v.set("controllers", Value::array());
    for (const auto& c : controllers) ctrls.push(controller_info(*c));
    return v;
  }

  // Below the client's default 10 s reply timeout (control/client.hpp).
  static constexpr auto kReconnectSettle = std::chrono::seconds(5);
  static constexpr auto kReconnectPoll = std::chrono::milliseconds(50);

  const Config& cfg_;
  const ServedSet& served_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

control::Handler make_control_handler(const Config& cfg, const ServedSet& served) {
  return Commands(cfg, served);
}

}  // namespace nvmefs::daemon
