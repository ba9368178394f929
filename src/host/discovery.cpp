// discover(): read the discovery log page (LID 70h) of a discovery controller
// (NVMe Base 2.0 §5.16.1.23, NVMe-oF 1.1 §5.3).
#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "controller_impl.hpp"
#include "discovery_read.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::host {

namespace {
constexpr uint8_t kLidDiscovery = 0x70;
constexpr int kMaxAttempts = 8;          // re-reads when GENCTR keeps changing
constexpr uint64_t kMaxEntries = 4096;   // bounds the buffer whatever NUMREC claims
constexpr uint32_t kChunk = 64 * 1024;

int read_log(Controller& c, void* buf, uint32_t len, uint64_t offset) {
  return c.admin_command(wire::cmd::get_log_page(kLidDiscovery, 0, len, offset), buf, len);
}
}  // namespace

std::vector<wire::DiscoveryEntry> read_discovery_log(Controller& c, const std::string& where) {
  const uint32_t chunk = c.info().mdts_bytes ? std::min(kChunk, c.info().mdts_bytes) : kChunk;

  // §5.16.1.23: read the header, then the entries; if GENCTR changed
  // meanwhile the log changed under us: start over.
  std::vector<uint8_t> log(wire::kDiscoveryLogHeaderLen);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    wire::DiscoveryLogHeader first, last;
    if (int r = read_log(c, log.data(), wire::kDiscoveryLogHeaderLen, 0); r != 0)
      throw Error(fmt::format("{}: Get Log Page failed: {}", where, std::strerror(-r)), -r);
    wire::parse_discovery_log_header(log, first);
    const uint64_t entries = std::min(first.numrec, kMaxEntries);
    if (first.numrec > kMaxEntries) log::warn("{}: log has {} records, reading the first {}", where, first.numrec, kMaxEntries);
    log.resize(wire::kDiscoveryLogHeaderLen + entries * wire::kDiscoveryLogEntryLen);
    for (uint64_t off = wire::kDiscoveryLogHeaderLen; off < log.size();) {
      const uint32_t len = uint32_t(std::min<uint64_t>(chunk, log.size() - off));
      if (int r = read_log(c, log.data() + off, len, off); r != 0)
        throw Error(fmt::format("{}: Get Log Page failed: {}", where, std::strerror(-r)), -r);
      off += len;
    }
    uint8_t hdr[wire::kDiscoveryLogHeaderLen];
    if (int r = read_log(c, hdr, sizeof hdr, 0); r != 0)
      throw Error(fmt::format("{}: Get Log Page failed: {}", where, std::strerror(-r)), -r);
    wire::parse_discovery_log_header(hdr, last);
    if (last.genctr != first.genctr) continue;

    wire::DiscoveryLogHeader parsed;
    bool truncated = false;
    auto result = wire::parse_discovery_log(log, parsed, truncated);
    if (truncated) log::warn("{}: discovery log truncated to {} entries", where, result.size());
    return result;
  }
  throw Error(fmt::format("{}: discovery log kept changing ({} reads)", where, kMaxAttempts), EAGAIN);
}

std::vector<wire::DiscoveryEntry> discover(const ConnectOptions& opts) {
  ConnectOptions o = opts;
  o.target.subnqn = wire::kDiscoveryNqn;
  // The controller key belongs to the I/O subsystem (it is transformed with its
  // NQN); the host key still answers a discovery controller that asks for it.
  o.dhchap_ctrl_secret.clear();
  if (o.target.trsvcid.empty()) o.target.trsvcid = kDefaultDiscoveryPort;
  ControllerImpl c(o, true);
  c.bring_up();
  return read_discovery_log(c, fmt::format("discovery controller {}:{}", o.target.traddr, o.target.trsvcid));
}

}  // namespace nvmefs::host
