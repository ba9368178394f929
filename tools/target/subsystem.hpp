// What the target exports: subsystems with their namespaces and host lists.
// Built once at start-up, read-only afterwards (shared by all threads).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "options.hpp"
#include "storage.hpp"

namespace nvmefs::target {

struct Namespace {
  uint32_t nsid = 0;
  std::unique_ptr<Storage> storage;
  uint32_t lba_shift = 9;
  uint64_t lba_count = 0;
  std::array<uint8_t, 16> nguid{};  // derived from subsystem NQN + NSID: stable across runs
  std::array<uint8_t, 16> uuid{};
};

struct Subsystem {
  std::string nqn;
  std::string serial;
  std::string model;
  std::vector<Namespace> namespaces;       // namespaces[i].nsid == i + 1
  std::vector<std::string> allowed_hosts;  // empty = any host

  bool host_allowed(const std::string& hostnqn) const;
  // nullptr unless 1 <= nsid <= namespaces.size().
  Namespace* find_namespace(uint32_t nsid);
};

// Opens every namespace's storage; throws nvmefs::Error with one line.
std::vector<std::unique_ptr<Subsystem>> build_subsystems(const Options& o);

}  // namespace nvmefs::target
