#include "identity.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>

#include "nvmefs/common/log.hpp"

namespace nvmefs::daemon {
namespace {

bool all_zero(const uint8_t* p, size_t n) { return std::all_of(p, p + n, [](uint8_t b) { return b == 0; }); }

std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

std::string uuid_text(const uint8_t* u) {
  std::string h = hex(u, 16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

// Namespace Identification Descriptor list (Identify CNS 03h, NVMe Base 2.0
// §5.17.2.3): 4 KiB of {NIDT, NIDL, 2 reserved, NID[NIDL]} until NIDT = 0.
// Untrusted: every descriptor is bounds-checked. Returns "" without a UUID.
std::string namespace_uuid(host::Controller& ctrl, uint32_t nsid) {
  std::array<uint8_t, 4096> list{};
  int rc = ctrl.admin_command(wire::cmd::identify(NVME_IDENTIFY_CNS_NS_DESC_LIST, nsid), list.data(), list.size());
  if (rc < 0) {
    log::debug("nsid {}: no namespace identification descriptors ({})", nsid, rc);
    return "";
  }
  for (size_t off = 0; off + 4 <= list.size();) {
    uint8_t type = list[off], len = list[off + 1];
    if (type == 0 || off + 4 + len > list.size()) break;
    if (type == NVME_NIDT_UUID && len == 16 && !all_zero(&list[off + 4], 16)) return uuid_text(&list[off + 4]);
    off += 4 + len;
  }
  return "";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> namespace_xattrs(host::Controller& ctrl, host::Namespace& ns) {
  const host::ControllerInfo& ci = ctrl.info();
  const host::TransportId& tid = ctrl.options().target;
  const nvme_id_ns& id = ns.id();
  std::vector<std::pair<std::string, std::string>> x;
  auto add = [&x](const char* name, std::string value) { x.emplace_back(std::string("user.nvme.") + name, std::move(value)); };
  add("nsid", std::to_string(ns.nsid()));
  if (!all_zero(id.nguid, sizeof id.nguid)) add("nguid", hex(id.nguid, sizeof id.nguid));
  if (!all_zero(id.eui64, sizeof id.eui64)) add("eui64", hex(id.eui64, sizeof id.eui64));
  if (std::string uuid = namespace_uuid(ctrl, ns.nsid()); !uuid.empty()) add("uuid", uuid);
  add("lba_size", std::to_string(ns.info().block_size));
  add("capacity", std::to_string(ns.info().size_bytes));
  add("read_only", ns.info().read_only ? "1" : "0");
  add("model", ci.model);
  add("serial", ci.serial);
  add("firmware", ci.firmware);
  add("subsystem_nqn", ci.subnqn);
  add("cntlid", std::to_string(ci.cntlid));
  add("transport", tid.trtype);
  add("traddr", tid.traddr);
  add("trsvcid", tid.trsvcid);
  return x;
}

}  // namespace nvmefs::daemon
