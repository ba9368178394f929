// Everything a queue needs to know about the target it belongs to.
#pragma once

#include <memory>
#include <string>

#include "controller.hpp"
#include "faults.hpp"
#include "options.hpp"
#include "subsystem.hpp"

namespace nvmefs::target {

struct TargetContext {
  const Options& options;
  SubsystemRegistry& subsystems;
  ControllerRegistry& controllers;
  FaultInjector& faults;
  uint16_t port = 0;  // the listener's port (discovery log trsvcid)

  std::shared_ptr<Subsystem> find_subsystem(const std::string& nqn) const { return subsystems.find(nqn); }
};

}  // namespace nvmefs::target
