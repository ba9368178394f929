// Finding running nvmefs mounts and their control sockets.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nvmefs/control/client.hpp"

namespace nvmefs::ctl {

struct MountEntry {
  std::string source, mountpoint;
};

// fuse.nvmefs entries of /proc/self/mounts (octal escapes decoded).
std::vector<MountEntry> nvmefs_mounts();

// The control socket of the mount at `mountpoint` (as the user typed it).
// Throws nvmefs::Error with one line when there is none, or nobody answers.
std::unique_ptr<control::ControlClient> connect_to_mount(const std::string& mountpoint);

// "64.0 MiB"
std::string human_bytes(double bytes);

}  // namespace nvmefs::ctl
