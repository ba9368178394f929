// Admin commands (NVMe Base 2.0 §5) of I/O and discovery controllers.
#pragma once

#include <span>

#include "command.hpp"
#include "controller.hpp"
#include "log_pages.hpp"
#include "target_context.hpp"

namespace nvmefs::target {

// Executes one admin command (not a fabrics command). None of the supported
// ones takes host-to-controller data.
Reply execute_admin(const TargetContext& ctx, Controller& ctrl, const LocalAddress& local, const wire::Sqe& sqe);

}  // namespace nvmefs::target
