// libFuzzer target: the host's parsers of Identify data (src/host/identify_parse).
// Input: up to 4 KiB of Identify Namespace data (zero-filled beyond the
// input), whose first bytes double as MDTS, CAP and IOCCSZ.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "identify_parse.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

using namespace nvmefs;

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nvme_id_ns id{};
  std::memcpy(&id, data, std::min(size, sizeof id));
  uint8_t head[16] = {};
  std::memcpy(head, data, std::min(size, sizeof head));

  const uint32_t mdts = host::mdts_bytes(head[0], wire::get_le64(head + 1));
  check(mdts == 0 || (mdts >= 4096 && mdts <= (1u << 31)));
  const uint32_t ioccsz = wire::get_le32(head + 9);
  const uint32_t inline_bytes = host::in_capsule_data_bytes(ioccsz);
  check(ioccsz < 4 ? inline_bytes == 0 : uint64_t(inline_bytes) + 64 >= 64);

  try {
    const host::NamespaceGeometry g = host::namespace_geometry(1, id);
    check(g.lba_shift >= 9 && g.lba_shift <= 16);
    check((g.size_bytes >> g.lba_shift) == wire::get_le64(reinterpret_cast<const uint8_t*>(&id.nsze)));
  } catch (const Error&) {
    // rejected with a message: fine
  }
  return 0;
}
