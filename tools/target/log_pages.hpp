// Log pages (NVMe Base 2.0 §5.16.1) served by the bundled target.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "target_context.hpp"

namespace nvmefs::target {

// Where the host reached us: the discovery log reports this address.
struct LocalAddress {
  std::string traddr;
  uint8_t adrfam = 1;  // NVMF_ADDR_FAMILY_IP4 / _IP6
};

// The whole log page `lid` for this controller, or false if the controller
// does not have it (Invalid Log Page). Reading 04h or 70h with `rae` (Retain
// Asynchronous Event) false re-enables the notice of that log (§5.16.1).
bool build_log_page(uint8_t lid, const TargetContext& ctx, Controller& ctrl, const LocalAddress& local, bool rae,
                    std::vector<uint8_t>& out);

}  // namespace nvmefs::target
