// Everything a queue needs to know about the target it belongs to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "controller.hpp"
#include "faults.hpp"
#include "options.hpp"
#include "subsystem.hpp"

namespace nvmefs::target {

struct TargetContext {
  const Options& options;
  std::vector<std::unique_ptr<Subsystem>>& subsystems;
  ControllerRegistry& controllers;
  FaultInjector& faults;
  uint16_t port = 0;  // the listener's port (discovery log trsvcid)

  Subsystem* find_subsystem(const std::string& nqn) const {
    for (auto& s : subsystems)
      if (s->nqn == nqn) return s.get();
    return nullptr;
  }
};

}  // namespace nvmefs::target
