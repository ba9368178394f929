// CRC32C (Castagnoli), as NVMe/TCP header and data digests use it
// (NVMe/TCP 1.0 §3.6.2: "CRC-32C ... initial value FFFFFFFFh, final XOR").
// Uses the SSE4.2 crc32 instruction when the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nvmefs::wire {

// Running form: start with kCrc32cInit, feed with crc32c_update, finish with crc32c_final.
inline constexpr uint32_t kCrc32cInit = 0xFFFFFFFFu;
uint32_t crc32c_update(uint32_t crc, const void* data, size_t len);
inline uint32_t crc32c_final(uint32_t crc) { return crc ^ 0xFFFFFFFFu; }

// One-shot digest of a buffer.
inline uint32_t crc32c(const void* data, size_t len) { return crc32c_final(crc32c_update(kCrc32cInit, data, len)); }
inline uint32_t crc32c(std::span<const uint8_t> s) { return crc32c(s.data(), s.size()); }

// True when the hardware path is in use (reported by nvmefs-perf).
bool crc32c_is_hardware();

namespace detail {
// The table-driven path, always available (tests compare it with the hardware one).
uint32_t crc32c_update_software(uint32_t crc, const void* data, size_t len);
}  // namespace detail

}  // namespace nvmefs::wire
