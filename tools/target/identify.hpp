// Identify data structures (NVMe Base 2.0 §5.17.2) for the bundled target.
#pragma once

#include <cstdint>
#include <vector>

#include "controller.hpp"
#include "options.hpp"

namespace nvmefs::target {

inline constexpr size_t kIdentifyLen = 4096;
// Abort Command Limit and Asynchronous Event Request Limit, both 0-based.
inline constexpr uint8_t kAcl = 3;
inline constexpr uint8_t kAerl = 3;

// CNS 01h: Identify Controller, with the NVMe-oF fields (NVMe-oF 1.1 §4.1).
std::vector<uint8_t> identify_controller(const Controller& ctrl, const Options& o);
// CNS 00h: Identify Namespace (NVM Command Set 1.0 §4.1.5.1); an inactive NSID (null) gets zeros.
std::vector<uint8_t> identify_namespace(const Namespace* ns, bool read_only);
// CNS 02h: active NSIDs greater than `after`, ascending, at most 1024.
std::vector<uint8_t> active_namespace_list(const NamespaceTable& namespaces, uint32_t after);
// CNS 03h: Namespace Identification Descriptor list: NGUID, UUID, CSI.
std::vector<uint8_t> namespace_descriptors(const Namespace& ns);

}  // namespace nvmefs::target
