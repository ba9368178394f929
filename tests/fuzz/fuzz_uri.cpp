// libFuzzer target: NVMe URI and size parsing. An accepted URI must format
// back to one that parses to the same transport ID.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nvmefs/common/size_parse.hpp"
#include "nvmefs/common/uri.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  std::string err;
  if (auto u = nvmefs::parse_nvme_uri(s, err)) {
    std::string again = nvmefs::format_nvme_uri(u->tid);
    std::string err2;
    auto v = nvmefs::parse_nvme_uri(again, err2);
    if (!v || v->tid.trtype != u->tid.trtype || v->tid.traddr != u->tid.traddr ||
        v->tid.trsvcid != u->tid.trsvcid || v->tid.subnqn != u->tid.subnqn)
      __builtin_trap();
  } else if (err.empty()) {
    __builtin_trap();  // every rejection says why
  }
  auto size_v = nvmefs::parse_size(s);
  auto uint_v = nvmefs::parse_uint(s);
  if (uint_v && (!size_v || *size_v != *uint_v)) __builtin_trap();  // plain numbers are sizes in bytes
  nvmefs::parse_int(s);
  return 0;
}
