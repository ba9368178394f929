// NVMe-oF URIs, as the NVMe Boot Specification 1.0 §1.5 writes them and
// newer libnvme parses them:
//   nvme+tcp://HOST[:PORT][/SUBSYSNQN[/NSID]]
//   nvme+rdma://HOST[:PORT][/SUBSYSNQN[/NSID]]
// HOST may be a name, an IPv4 address or a bracketed IPv6 address.
// Without a subsystem NQN the URI names a discovery controller (port 8009).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nvmefs/host/options.hpp"

namespace nvmefs {

struct NvmeUri {
  host::TransportId tid;    // trsvcid filled with the default when absent
  bool discovery = false;   // no NQN given, or the discovery NQN
  uint32_t nsid = 0;        // 0 = all namespaces
};

// Parses `uri`; on failure returns nullopt and sets `error` to one line
// saying what is wrong (e.g. "unsupported scheme 'http' (use nvme+tcp:// or nvme+rdma://)").
std::optional<NvmeUri> parse_nvme_uri(std::string_view uri, std::string& error);

// Formats a URI back (for logs and `nvmefs-ctl list`).
std::string format_nvme_uri(const host::TransportId& tid);

}  // namespace nvmefs
