#include "pattern.hpp"

#include <fmt/format.h>

#include <cstring>

namespace nvmefs::perf {
namespace {

struct Word {
  uint64_t offset;
  uint32_t seed;
  uint32_t tag;
};
static_assert(sizeof(Word) == kPatternWord);

uint32_t tag_of(uint64_t offset, uint32_t seed) {
  // splitmix64 step: every input bit affects every tag bit, and the tag of
  // offset 0 with seed 0 is not 0 (an all-zero block never passes).
  uint64_t z = (offset ^ (static_cast<uint64_t>(seed) << 32 | seed)) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

Word word_at(uint64_t offset, uint32_t seed) { return Word{offset, seed, tag_of(offset, seed)}; }

std::string hex(const std::array<uint8_t, kPatternWord>& bytes) {
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

void fill_pattern(std::span<uint8_t> buf, uint64_t offset, uint32_t seed) {
  for (size_t pos = 0; pos + kPatternWord <= buf.size(); pos += kPatternWord) {
    Word w = word_at(offset + pos, seed);
    std::memcpy(buf.data() + pos, &w, sizeof w);
  }
}

std::optional<PatternMismatch> check_pattern(std::span<const uint8_t> buf, uint64_t offset, uint32_t seed) {
  for (size_t pos = 0; pos + kPatternWord <= buf.size(); pos += kPatternWord) {
    Word w = word_at(offset + pos, seed);
    if (std::memcmp(buf.data() + pos, &w, sizeof w) == 0) continue;
    PatternMismatch m;
    m.offset = offset + pos;
    std::memcpy(m.expected.data(), &w, sizeof w);
    std::memcpy(m.got.data(), buf.data() + pos, sizeof w);
    return m;
  }
  return std::nullopt;
}

std::string describe(const PatternMismatch& m) {
  std::string line = fmt::format("offset {:#x}: expected {} got {}", m.offset, hex(m.expected), hex(m.got));
  Word got;
  std::memcpy(&got, m.got.data(), sizeof got);
  if (got.tag == tag_of(got.offset, got.seed))
    line += fmt::format(" (an intact pattern word of offset {:#x}, seed {})", got.offset, got.seed);
  return line;
}

}  // namespace nvmefs::perf
