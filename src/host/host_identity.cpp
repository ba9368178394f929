#include "host_identity.hpp"

#include <cstdlib>
#include <memory>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/wire/crc32c.hpp"

extern "C" {
#include <nvme/fabrics.h>
}

namespace nvmefs::host {

namespace {

// libnvme returns malloc'd strings (or NULL).
std::string take_c_string(char* s) {
  std::unique_ptr<char, decltype(&std::free)> owner(s, &std::free);
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The UUID of a uuid-form NQN ("nqn.2014-08.org.nvmexpress:uuid:<uuid>", NVMe Base §4.5).
std::optional<std::array<uint8_t, 16>> uuid_of_nqn(const std::string& nqn) {
  const std::string_view marker = ":uuid:";
  auto pos = nqn.rfind(marker);
  if (pos == std::string::npos) return std::nullopt;
  return parse_uuid(std::string_view(nqn).substr(pos + marker.size()));
}

// A host ID that is a pure function of the NQN (for NQNs without a UUID), so
// the same NQN never shows up with two host IDs.
std::array<uint8_t, 16> derived_host_id(const std::string& nqn) {
  std::array<uint8_t, 16> id{};
  for (uint32_t i = 0; i < 4; ++i) {
    uint32_t crc = wire::crc32c_final(wire::crc32c_update(wire::kCrc32cInit ^ (i * 0x9E3779B9u), nqn.data(), nqn.size()));
    for (int b = 0; b < 4; ++b) id[i * 4 + b] = uint8_t(crc >> (8 * b));
  }
  id[6] = uint8_t((id[6] & 0x0F) | 0x80);  // RFC 9562 version 8 (custom)
  id[8] = uint8_t((id[8] & 0x3F) | 0x80);  // variant 10b
  return id;
}

}  // namespace

std::optional<std::array<uint8_t, 16>> parse_uuid(std::string_view s) {
  if (s.size() != 36) return std::nullopt;
  std::array<uint8_t, 16> out{};
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return std::nullopt;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(s[i]), lo = i + 1 < s.size() ? hex(s[i + 1]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    out[n++] = uint8_t(hi << 4 | lo);
    ++i;
  }
  return n == 16 ? std::optional(out) : std::nullopt;
}

HostIdentity resolve_host_identity(const ConnectOptions& opts) {
  HostIdentity h;
  std::string hostid = opts.hostid;
  h.nqn = opts.hostnqn;
  if (h.nqn.empty()) {
    h.nqn = take_c_string(nvmf_hostnqn_from_file());
    // The file's host ID belongs to the file's NQN only.
    if (!h.nqn.empty() && hostid.empty()) hostid = take_c_string(nvmf_hostid_from_file());
  }
  if (h.nqn.empty()) h.nqn = take_c_string(nvmf_hostnqn_generate());
  if (h.nqn.empty()) throw Error("cannot determine a host NQN: no /etc/nvme/hostnqn and none could be generated; pass hostnqn=", EINVAL);
  if (h.nqn.size() > NVME_NQN_LENGTH - 1) throw Error(fmt::format("host NQN longer than {} bytes: {}", NVME_NQN_LENGTH - 1, h.nqn), EINVAL);

  if (!hostid.empty()) {
    auto id = parse_uuid(hostid);
    if (!id) throw Error(fmt::format("host ID '{}' is not a UUID", hostid), EINVAL);
    h.id = *id;
  } else if (auto id = uuid_of_nqn(h.nqn)) {
    h.id = *id;
  } else {
    h.id = derived_host_id(h.nqn);
  }
  return h;
}

}  // namespace nvmefs::host
