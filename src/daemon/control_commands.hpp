// What the daemon answers on its control socket (protocol in
// include/nvmefs/control/protocol.hpp, reply fields in man/nvmefs-ctl.8).
#pragma once

#include <chrono>

#include "served.hpp"
#include "nvmefs/control/server.hpp"
#include "options.hpp"

namespace nvmefs::daemon {

// The handler reads `cfg` and `served`, which must outlive the server.
control::Handler make_control_handler(const Config& cfg, const ServedSet& served);

}  // namespace nvmefs::daemon
