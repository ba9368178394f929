// The --verify data pattern. Every 16-byte word of the device holds
//   [byte offset of the word: u64][seed: u32][tag: u32]
// with tag a hash of both, so the expected contents of any byte are a
// function of its own offset and the run's seed: data written to the wrong
// place, stale data from an earlier run (other seed) and flipped bits are all
// told apart from good data, and rewriting a block never changes it, so
// reads may verify while writes run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace nvmefs::perf {

inline constexpr size_t kPatternWord = 16;

// Fills `buf` (a multiple of kPatternWord) with the pattern of the device
// range starting at byte `offset`.
void fill_pattern(std::span<uint8_t> buf, uint64_t offset, uint32_t seed);

struct PatternMismatch {
  uint64_t offset = 0;  // device byte offset of the first wrong 16-byte word
  std::array<uint8_t, kPatternWord> expected{}, got{};
};

// Checks `buf`, read from device byte `offset`; the first wrong word, if any.
std::optional<PatternMismatch> check_pattern(std::span<const uint8_t> buf, uint64_t offset, uint32_t seed);

// One line: "offset 0x1000: expected 00100000.. got 00200000.. (a pattern word of offset 0x2000, seed 7)".
std::string describe(const PatternMismatch& m);

}  // namespace nvmefs::perf
