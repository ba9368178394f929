// The runtime changes a control socket accepts (nvmefs-target --help,
// "Runtime changes"): namespaces and subsystems added, removed, resized, and
// the asynchronous events that tell connected hosts about it.
#pragma once

#include <string>
#include <vector>

#include "target_context.hpp"

namespace nvmefs::target {

// Runs one command (its words). Returns the reply text for success; throws
// nvmefs::Error with one line otherwise. One caller at a time (the control thread).
std::string run_control_command(TargetContext& ctx, const std::vector<std::string>& words);

}  // namespace nvmefs::target
