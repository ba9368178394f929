// Asymmetric Namespace Access reporting (NVMe Base 2.0 §8.1): whether a
// controller reports ANA, and its ANA log page (§5.16.1.12, LID 0Ch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nvmefs/host/multipath.hpp"

namespace nvmefs::host {

struct AnaGroup {
  uint32_t grpid = 0;
  AnaState state = AnaState::Inaccessible;
};

// CMIC bit 3 (Identify Controller, §5.17.2.1): the controller reports ANA.
bool reports_ana(const nvme_id_ctrl& id);

// OAES bit 11 (Identify Controller): the controller sends ANA Change notices.
bool sends_ana_notices(const nvme_id_ctrl& id);

// The ANA group identifier of a namespace (Identify Namespace ANAGRPID).
uint32_t ana_group_of(const nvme_id_ns& id);

// Parses an ANA log page of `len` bytes (untrusted). Throws nvmefs::Error
// when the header or a descriptor runs past the buffer or a state is reserved.
std::vector<AnaGroup> parse_ana_log(const uint8_t* buf, size_t len);

// Reads and parses the ANA log of `ctrl` (groups only). Throws nvmefs::Error.
std::vector<AnaGroup> read_ana_log(Controller& ctrl);

}  // namespace nvmefs::host
