// Parsing of sizes ("64M", "1G", "4096", "1.5K" not allowed) and durations
// as users write them on command lines and in mount options.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nvmefs {

// "4096", "4k", "4K", "64M", "2G", "1T", with optional "iB"/"B" ("64MiB").
// Binary multiples (K = 1024). nullopt on anything else or on overflow.
std::optional<uint64_t> parse_size(std::string_view s);
// Plain unsigned decimal integer; nullopt on junk/overflow/empty.
std::optional<uint64_t> parse_uint(std::string_view s);
// Signed decimal integer (for -1 = "forever" options).
std::optional<int64_t> parse_int(std::string_view s);

}  // namespace nvmefs
