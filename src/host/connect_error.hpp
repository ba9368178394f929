// One-line messages for a failed Fabrics Connect (NVMe-oF 1.1 §3.3 Figure 21/22).
#pragma once

#include <string>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

// e.g. "subsystem nqn.x not found on 127.0.0.1:4420 (Connect status 0x182: invalid parameters)"
std::string describe_connect_failure(const wire::Cqe& cqe, const std::string& subnqn, const std::string& hostnqn,
                                     const std::string& where);

}  // namespace nvmefs::host
