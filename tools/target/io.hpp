// NVM command set I/O commands (NVM Command Set 1.0 §3).
#pragma once

#include <cstdint>
#include <span>

#include "command.hpp"
#include "controller.hpp"

namespace nvmefs::target {

// I/O opcodes (NVM Command Set 1.0 Figure 18).
inline constexpr uint8_t kOpFlush = 0x00;
inline constexpr uint8_t kOpWrite = 0x01;
inline constexpr uint8_t kOpRead = 0x02;
inline constexpr uint8_t kOpWriteZeroes = 0x08;
inline constexpr uint8_t kOpDatasetManagement = 0x09;

// The byte range of a Read or Write in its namespace's storage.
struct Extent {
  Storage* storage = nullptr;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool fua = false;  // make durable before completing (FUA bit, or write cache disabled)
};

// Checks a Read or Write (namespace, LBA range, write protection) and fills
// `extent`; returns the status to complete with when it is not 0.
// `namespaces` is the queue's snapshot of the subsystem's namespace table.
uint16_t resolve_read_write(Controller& ctrl, const NamespaceTable& namespaces, const wire::Sqe& sqe, bool read_only,
                            Extent& extent);

// Flush, Write Zeroes, Dataset Management (with its range list in `data`).
uint16_t execute_io(Controller& ctrl, const NamespaceTable& namespaces, const wire::Sqe& sqe,
                    std::span<const uint8_t> data, bool read_only);

}  // namespace nvmefs::target
