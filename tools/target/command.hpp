// Shared vocabulary of the command handlers (fabrics, admin, I/O).
#pragma once

#include <cstdint>
#include <vector>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {

// What a handler produced: the completion, plus the bytes a command returns
// to the host (Identify, Get Log Page) if any.
struct Reply {
  uint16_t status = 0;  // SCT/SC with DNR/MORE, as it goes into the CQE
  uint32_t dw0 = 0;
  uint32_t dw1 = 0;
  std::vector<uint8_t> data;
  bool hold = false;  // Asynchronous Event Request: no completion for now
};

inline uint16_t dnr(uint16_t status) { return uint16_t(status | wire::status::kDnrBit); }

// Status values the wire header does not name (NVMe Base 2.0 Figure 102/103).
namespace status {
inline constexpr uint16_t kSglDescriptorTypeInvalid = 0x0011;
inline constexpr uint16_t kSglOffsetInvalid = 0x0016;
inline constexpr uint16_t kNamespaceWriteProtected = 0x0020;
inline constexpr uint16_t kTransientTransportError = 0x0022;
inline constexpr uint16_t kAerLimitExceeded = 0x0105;
inline constexpr uint16_t kInvalidFormat = 0x010A;
inline constexpr uint16_t kAuthenticationRequired = 0x0191;  // SCT 1h, SC 91h (NVMe Base 2.0 Figure 103)
}  // namespace status

// Data direction of a command: opcode bits 1:0 (NVMe Base 2.0 §5.1, Figure 28),
// FCTYPE bits 1:0 for fabrics commands (NVMe-oF 1.1 §3.2).
enum class DataDir : uint8_t { None, HostToController, ControllerToHost, Both };
inline DataDir data_direction(const wire::Sqe& sqe) {
  uint8_t bits = (sqe.opcode() == wire::kFabricsOpcode ? sqe.fctype() : sqe.opcode()) & 3;
  return DataDir(bits);
}

// errno from a backing store -> NVMe status (Write Fault / Unrecovered Read Error, else internal).
uint16_t status_from_errno(int negative_errno, bool write);

}  // namespace nvmefs::target
