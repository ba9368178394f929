#include "nvmefs/common/size_parse.hpp"

#include <cctype>
#include <limits>

namespace nvmefs {

std::optional<uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = uint64_t(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<int64_t> parse_int(std::string_view s) {
  bool neg = !s.empty() && s[0] == '-';
  auto u = parse_uint(neg ? s.substr(1) : s);
  uint64_t limit = uint64_t(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0);  // |INT64_MIN| = MAX + 1
  if (!u || *u > limit) return std::nullopt;
  return neg ? int64_t(0 - *u) : int64_t(*u);  // two's complement wrap gives INT64_MIN for MAX + 1
}

std::optional<uint64_t> parse_size(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  auto base = parse_uint(s.substr(0, digits));
  if (!base) return std::nullopt;
  std::string_view suffix = s.substr(digits);
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      case 'B': if (suffix.size() == 1) return base; return std::nullopt;
      default: return std::nullopt;
    }
    suffix.remove_prefix(1);
    if (!(suffix.empty() || suffix == "B" || suffix == "iB" || suffix == "ib" || suffix == "b")) return std::nullopt;
  }
  if (shift && *base > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
  return *base << shift;
}

}  // namespace nvmefs
