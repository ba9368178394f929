// Reading the whole discovery log (LID 70h) from a connected discovery
// controller: shared by host::discover (one shot) and DiscoveryWatcher.
#pragma once

#include <string>
#include <vector>

#include "nvmefs/host/controller.hpp"

namespace nvmefs::host {

// NVMe Base 2.0 §5.16.1.23: header, entries, header again; re-read while
// GENCTR changed. Reads with RAE cleared, which re-enables the Discovery Log
// Page Change notice. `where` names the controller in errors. Throws nvmefs::Error.
std::vector<wire::DiscoveryEntry> read_discovery_log(Controller& c, const std::string& where);

}  // namespace nvmefs::host
