#include "connect_error.hpp"

#include <fmt/core.h>

namespace nvmefs::host {

std::string describe_connect_failure(const wire::Cqe& cqe, const std::string& subnqn, const std::string& hostnqn,
                                     const std::string& where) {
  const uint16_t status = cqe.status() & 0x7FF;  // SCT/SC without DNR/MORE
  const std::string code = fmt::format("Connect status {:#x}: {}", status, wire::status_name(status));
  if (status == wire::status::kConnectInvalidParameters) {
    // DW0: IPO bits 15:0 (offset of the bad parameter), IATTR bits 23:16 (bit 0: in the data, else in the SQE).
    const uint32_t ipo = cqe.dw0() & 0xFFFF;
    const bool in_data = (cqe.dw0() >> 16) & 1;
    if (in_data && ipo == offsetof(nvmf_connect_data, subsysnqn))
      return fmt::format("subsystem {} not found on {} ({})", subnqn, where, code);
    if (in_data && ipo == offsetof(nvmf_connect_data, hostnqn))
      return fmt::format("host NQN {} rejected by {} on {} ({})", hostnqn, subnqn, where, code);
    return fmt::format("connect to {} on {}: invalid {} parameter at offset {} ({})", subnqn, where,
                       in_data ? "connect data" : "command", ipo, code);
  }
  if (status == wire::status::kConnectInvalidHost)
    return fmt::format("host {} is not allowed to connect to {} on {} ({})", hostnqn, subnqn, where, code);
  if (status == wire::status::kConnectControllerBusy)
    return fmt::format("controller of {} on {} is busy ({})", subnqn, where, code);
  return fmt::format("connect to {} on {} failed ({})", subnqn, where, code);
}

}  // namespace nvmefs::host
