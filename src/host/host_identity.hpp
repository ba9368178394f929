// Which host we are: host NQN and host identifier (NVMe-oF 1.1 §3.3, Connect
// data). Resolved the way nvme-cli does, so one host NQN always goes with the
// same host ID: options, else /etc/nvme/hostnqn + /etc/nvme/hostid (libnvme),
// else a generated uuid-form NQN whose UUID is also the host ID.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nvmefs/host/options.hpp"

namespace nvmefs::host {

struct HostIdentity {
  std::string nqn;
  std::array<uint8_t, 16> id{};
};

// Throws nvmefs::Error when no host NQN can be found or made, or hostid is malformed.
HostIdentity resolve_host_identity(const ConnectOptions& opts);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" -> 16 bytes.
std::optional<std::array<uint8_t, 16>> parse_uuid(std::string_view s);

}  // namespace nvmefs::host
