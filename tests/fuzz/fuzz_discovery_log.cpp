// libFuzzer target: discovery log page parsing.
#include <cstddef>
#include <cstdint>
#include <span>

#include "nvmefs/wire/discovery_log.hpp"

using namespace nvmefs::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  DiscoveryLogHeader hdr;
  bool truncated = false;
  auto entries = parse_discovery_log(bytes, hdr, truncated);
  size_t fit = size < kDiscoveryLogHeaderLen ? 0 : (size - kDiscoveryLogHeaderLen) / kDiscoveryLogEntryLen;
  if (entries.size() > fit || entries.size() > hdr.numrec) __builtin_trap();
  for (const auto& e : entries) {
    trtype_name(e.trtype);
    adrfam_name(e.adrfam);
    subtype_name(e.subtype);
    if (e.traddr.size() > 256 || e.subnqn.size() > 256 || e.trsvcid.size() > 32) __builtin_trap();
  }
  DiscoveryEntry one;
  parse_discovery_entry(bytes, one);
  return 0;
}
