// Connecting to the target(s) and building the tree the FUSE layer serves:
// one file ns<NSID> per active namespace (a block cache over it), at the
// root for a subsystem URI, in one directory per subsystem NQN in
// discovery mode.
#pragma once

#include <memory>
#include <vector>

#include "nvmefs/fs/tree.hpp"
#include "nvmefs/host/controller.hpp"
#include "options.hpp"

namespace nvmefs::daemon {

struct Attached {
  std::vector<std::unique_ptr<host::Controller>> controllers;
  fs::DirSpec root;
};

// Throws nvmefs::Error (one line) when nothing can be connected.
Attached attach(const Config& cfg);

}  // namespace nvmefs::daemon
