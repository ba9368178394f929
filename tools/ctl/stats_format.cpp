#include "stats_format.hpp"

#include <fmt/format.h>

#include "mounts.hpp"

namespace nvmefs::ctl {
namespace {

using json::Value;

const char* const kLayers[] = {"file", "network"};

const Value* find_namespace(const Value& stats, const Value& ns) {
  for (const auto& n : stats.get("namespaces").items())
    if (n.get("path").as_string() == ns.get("path").as_string()) return &n;
  return nullptr;
}

std::string latency_text(const Value& l) {
  if (l.get("count").as_u64() == 0) return "-";
  return fmt::format("{:.0f}/{:.0f}/{:.0f}", l.get("p50").as_double(), l.get("p99").as_double(), l.get("p99.9").as_double());
}

// Prometheus label values escape '\', '"' and newline.
std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

struct Metric {
  const char* name;
  const char* type;  // counter, gauge
  const char* help;
  const char* section;  // "file"/"network" (labelled layer=), "cache", or "" (namespace)
  const char* field;
  double scale = 0;     // 0: an exact integer; else field * scale (milliseconds -> seconds)
};

const Metric kMetrics[] = {
    {"nvmefs_reads_total", "counter", "Completed read requests.", "layer", "reads"},
    {"nvmefs_writes_total", "counter", "Completed write requests.", "layer", "writes"},
    {"nvmefs_flushes_total", "counter", "Completed flush requests.", "layer", "flushes"},
    {"nvmefs_read_bytes_total", "counter", "Bytes read.", "layer", "read_bytes"},
    {"nvmefs_written_bytes_total", "counter", "Bytes written.", "layer", "write_bytes"},
    {"nvmefs_errors_total", "counter", "Requests that completed with an error.", "layer", "errors"},
    {"nvmefs_in_flight", "gauge", "Requests in flight.", "layer", "in_flight"},
    {"nvmefs_cache_hits_total", "counter", "Cache blocks read from the cache.", "cache", "read_hits"},
    {"nvmefs_cache_misses_total", "counter", "Cache blocks read from the namespace.", "cache", "read_misses"},
    {"nvmefs_cache_readahead_blocks_total", "counter", "Cache blocks read ahead.", "cache", "readahead_blocks"},
    {"nvmefs_cache_evictions_total", "counter", "Cache blocks evicted.", "cache", "evictions"},
    {"nvmefs_cache_dirty_bytes", "gauge", "Bytes not yet written back.", "cache", "dirty_bytes"},
    {"nvmefs_cache_cached_bytes", "gauge", "Bytes held in the cache.", "cache", "cached_bytes"},
    {"nvmefs_cache_writeback_bytes_total", "counter", "Bytes written back.", "cache", "writeback_bytes"},
    {"nvmefs_cache_throttled_writes_total", "counter", "Writes that waited for write-back.", "cache", "throttled_writes"},
    {"nvmefs_reconnects_total", "counter", "Successful controller reconnects.", "", "reconnects"},
    {"nvmefs_reconnect_attempts_total", "counter", "Controller reconnect attempts, successful or not.", "",
     "reconnect_attempts"},
    {"nvmefs_controller_down_seconds", "gauge", "Time since the controller lost its connection (0 when live).", "",
     "down_ms", 1e-3},
    {"nvmefs_controller_last_recovery_seconds", "gauge", "Loss-to-live time of the last successful reconnect.", "",
     "last_recovery_ms", 1e-3},
};

// Values of the controller_state field; nvmefs_controller_state has one
// sample per state, 1 for the current one (the usual enum-as-label form).
const char* const kControllerStates[] = {"live", "connecting", "dead", "deleting"};

std::string sample_value(const Value& v, const Metric& m) {
  if (m.scale == 0) return fmt::format("{}", v.as_u64());
  return fmt::format("{:.3f}", v.as_double() * m.scale);
}

}  // namespace

void add_iops(Value& now, const Value* before) {
  double interval = now.get("uptime_s").as_double();
  if (before) interval -= before->get("uptime_s").as_double();
  if (interval <= 0) interval = 1e-9;
  Value nss = Value::array();
  for (const auto& ns : now.get("namespaces").items()) {
    Value n = ns;
    const Value* old = before ? find_namespace(*before, ns) : nullptr;
    for (const char* layer : kLayers) {
      Value l = n.get(layer);
      for (const char* op : {"reads", "writes"}) {
        uint64_t ops = l.get(op).as_u64(), prev = old ? old->get(layer).get(op).as_u64() : 0;
        l.set(std::string(op) == "reads" ? "read_iops" : "write_iops", double(ops >= prev ? ops - prev : 0) / interval);
      }
      n.set(layer, std::move(l));
    }
    nss.push(std::move(n));
  }
  now.set("namespaces", std::move(nss));
}

std::string stats_table(const Value& stats) {
  std::string s = fmt::format("{}  ({}, up {:.0f} s)\n", stats.get("mountpoint").as_string(),
                              stats.get("source").as_string(), stats.get("uptime_s").as_double());
  for (const auto& ns : stats.get("namespaces").items()) {
    s += fmt::format("\n{}  nsid {}  {}  {}  controller {}  reconnects {} of {} attempts\n", ns.get("path").as_string(),
                     ns.get("nsid").as_u64(), ns.get("subnqn").as_string(), human_bytes(double(ns.get("size_bytes").as_u64())),
                     ns.get("controller_state").as_string(), ns.get("reconnects").as_u64(),
                     ns.get("reconnect_attempts").as_u64());
    if (ns.get("controller_state").as_string() != "live")
      s += fmt::format("  down {:.1f} s: {}\n", ns.get("down_ms").as_double() / 1000, ns.get("last_error").as_string());
    s += fmt::format("  {:<8} {:>10} {:>10} {:>11} {:>11} {:>9} {:>9} {:>18} {:>18} {:>6}\n", "layer", "reads", "writes",
                     "read", "written", "r-IOPS", "w-IOPS", "read us p50/99/99.9", "write us p50/99/99.9", "errors");
    for (const char* layer : kLayers) {
      const Value& l = ns.get(layer);
      s += fmt::format("  {:<8} {:>10} {:>10} {:>11} {:>11} {:>9.0f} {:>9.0f} {:>18} {:>18} {:>6}\n", layer,
                       l.get("reads").as_u64(), l.get("writes").as_u64(), human_bytes(double(l.get("read_bytes").as_u64())),
                       human_bytes(double(l.get("write_bytes").as_u64())), l.get("read_iops").as_double(),
                       l.get("write_iops").as_double(), latency_text(l.get("read_latency_us")),
                       latency_text(l.get("write_latency_us")), l.get("errors").as_u64());
    }
    const Value& c = ns.get("cache");
    s += fmt::format("  cache {}: hits {}  misses {}  readahead {}  evictions {}  cached {}  dirty {}  written back {}\n",
                     c.get("mode").as_string(), c.get("read_hits").as_u64(), c.get("read_misses").as_u64(),
                     c.get("readahead_blocks").as_u64(), c.get("evictions").as_u64(),
                     human_bytes(double(c.get("cached_bytes").as_u64())), human_bytes(double(c.get("dirty_bytes").as_u64())),
                     human_bytes(double(c.get("writeback_bytes").as_u64())));
  }
  return s;
}

std::string stats_prometheus(const Value& stats) {
  std::string mp = label_value(stats.get("mountpoint").as_string());
  std::string s;
  auto labels = [&mp](const Value& ns) {
    return fmt::format("mountpoint=\"{}\",nsid=\"{}\",subnqn=\"{}\"", mp, ns.get("nsid").as_u64(),
                       label_value(ns.get("subnqn").as_string()));
  };
  for (const Metric& m : kMetrics) {
    s += fmt::format("# HELP {} {}\n# TYPE {} {}\n", m.name, m.help, m.name, m.type);
    for (const auto& ns : stats.get("namespaces").items()) {
      std::string section = m.section;
      if (section == "layer") {
        for (const char* layer : kLayers)
          s += fmt::format("{}{{{},layer=\"{}\"}} {}\n", m.name, labels(ns), layer, ns.get(layer).get(m.field).as_u64());
      } else {
        const Value& src = section.empty() ? ns : ns.get(section);
        s += fmt::format("{}{{{}}} {}\n", m.name, labels(ns), sample_value(src.get(m.field), m));
      }
    }
  }
  s += "# HELP nvmefs_controller_state State of the namespace's controller (1 for the current state).\n"
       "# TYPE nvmefs_controller_state gauge\n";
  for (const auto& ns : stats.get("namespaces").items())
    for (const char* state : kControllerStates)
      s += fmt::format("nvmefs_controller_state{{{},state=\"{}\"}} {}\n", labels(ns), state,
                       ns.get("controller_state").as_string() == state ? 1 : 0);
  // Latencies as summaries, in seconds.
  for (const char* op : {"read", "write", "flush"}) {
    std::string name = fmt::format("nvmefs_{}_latency_seconds", op);
    s += fmt::format("# HELP {} Completion latency of {} requests.\n# TYPE {} summary\n", name, op, name);
    for (const auto& ns : stats.get("namespaces").items())
      for (const char* layer : kLayers) {
        const Value& l = ns.get(layer).get(fmt::format("{}_latency_us", op));
        std::string lb = fmt::format("{},layer=\"{}\"", labels(ns), layer);
        for (auto [q, field] : {std::pair{"0.5", "p50"}, {"0.99", "p99"}, {"0.999", "p99.9"}})
          s += fmt::format("{}{{{},quantile=\"{}\"}} {:.9f}\n", name, lb, q, l.get(field).as_double() / 1e6);
        uint64_t count = l.get("count").as_u64();
        s += fmt::format("{}_sum{{{}}} {:.9f}\n", name, lb, l.get("mean").as_double() * double(count) / 1e6);
        s += fmt::format("{}_count{{{}}} {}\n", name, lb, count);
      }
  }
  return s;
}

}  // namespace nvmefs::ctl
