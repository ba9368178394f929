// The user.nvme.* extended attributes of a namespace file: who the
// namespace is (NGUID, EUI-64, UUID, NSID, LBA size, capacity) and where it
// lives (controller model/serial/firmware/ID, subsystem NQN, transport address).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nvmefs/host/controller.hpp"

namespace nvmefs::daemon {

std::vector<std::pair<std::string, std::string>> namespace_xattrs(host::Controller& ctrl, host::Namespace& ns);

}  // namespace nvmefs::daemon
