#include "log_pages.hpp"

#include <endian.h>

#include <cstring>
#include <string_view>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {
namespace {

// Log page identifiers (NVMe Base 2.0 Figure 202).
constexpr uint8_t kLidError = 0x01;
constexpr uint8_t kLidSmart = 0x02;
constexpr uint8_t kLidFirmwareSlot = 0x03;
constexpr uint8_t kLidChangedNamespaces = 0x04;
constexpr uint8_t kLidDiscovery = 0x70;

constexpr size_t kErrorEntryLen = 64;

// Fixed-width ASCII discovery fields are space padded (NVMe Base 2.0 Figure 264).
void put_padded(char* field, size_t len, std::string_view s) {
  std::memset(field, ' ', len);
  std::memcpy(field, s.data(), std::min(len, s.size()));
}

void fill_entry(nvmf_disc_log_entry& e, uint8_t subtype, std::string_view nqn, uint16_t port,
                const LocalAddress& local, uint16_t asqsz, bool tls) {
  e.trtype = NVMF_TRTYPE_TCP;
  e.adrfam = local.adrfam;
  e.subtype = subtype;
  // TREQ (NVMe Base 2.0 Figure 264): SQ flow control disable supported; a
  // secure channel is required on a --tls port (TSAS SECTYPE TLS 1.3, NVMe/TCP TP 8011).
  e.treq = NVMF_TREQ_DISABLE_SQFLOW | (tls ? NVMF_TREQ_REQUIRED : NVMF_TREQ_NOT_SPECIFIED);
  e.portid = htole16(1);
  e.cntlid = htole16(0xFFFF);  // dynamic controller model
  e.asqsz = htole16(asqsz);
  put_padded(e.trsvcid, sizeof e.trsvcid, std::to_string(port));
  std::strncpy(e.subnqn, nqn.data(), sizeof e.subnqn - 1);
  put_padded(e.traddr, sizeof e.traddr, local.traddr);
  e.tsas.tcp.sectype = tls ? NVMF_TCP_SECTYPE_TLS13 : NVMF_TCP_SECTYPE_NONE;
}

// NVMe-oF 1.1 §5.3 / NVMe Base 2.0 §5.16.1.23: one entry for this discovery
// subsystem (subtype 3), then one per subsystem the host may access (subtype 2).
std::vector<uint8_t> discovery_log(const TargetContext& ctx, const Controller& ctrl, const LocalAddress& local) {
  uint64_t genctr = 0;
  std::vector<const Subsystem*> visible;
  const auto subsystems = ctx.subsystems.all(genctr);
  for (const auto& s : subsystems)
    if (s->host_allowed(ctrl.hostnqn())) visible.push_back(s.get());
  const size_t records = visible.size() + 1;
  std::vector<uint8_t> out(sizeof(nvmf_discovery_log) + records * sizeof(nvmf_disc_log_entry));
  auto* log = reinterpret_cast<nvmf_discovery_log*>(out.data());
  log->genctr = htole64(genctr);  // moves on every subsys-add / subsys-remove
  log->numrec = htole64(records);
  log->recfmt = 0;
  const uint16_t asqsz = ctx.options.queue_size;
  const bool tls = ctx.options.tls_key != nullptr;
  fill_entry(log->entries[0], NVME_NQN_CURR, wire::kDiscoveryNqn, ctx.port, local, asqsz, tls);
  for (size_t i = 0; i < visible.size(); ++i)
    fill_entry(log->entries[i + 1], NVME_NQN_NVME, visible[i]->nqn, ctx.port, local, asqsz, tls);
  return out;
}

std::vector<uint8_t> smart_log() {
  nvme_smart_log s{};
  const uint16_t kelvin = 273 + 30;  // composite temperature: a mild 30 °C
  s.temperature[0] = uint8_t(kelvin);
  s.temperature[1] = uint8_t(kelvin >> 8);
  s.avail_spare = 100;
  s.spare_thresh = 10;
  std::vector<uint8_t> out(sizeof s);
  std::memcpy(out.data(), &s, sizeof s);
  return out;
}

std::vector<uint8_t> firmware_slot_log() {
  nvme_firmware_slot f{};
  f.afi = 1;  // slot 1 active
  put_padded(f.frs[0], sizeof f.frs[0], NVMEFS_VERSION);
  std::vector<uint8_t> out(sizeof f);
  std::memcpy(out.data(), &f, sizeof f);
  return out;
}

}  // namespace

bool build_log_page(uint8_t lid, const TargetContext& ctx, Controller& ctrl, const LocalAddress& local, bool rae,
                    std::vector<uint8_t>& out) {
  if (ctrl.is_discovery()) {
    if (lid != kLidDiscovery) return false;
    out = discovery_log(ctx, ctrl, local);
    ctrl.events().discovery_log_read(rae);
    return true;
  }
  switch (lid) {
    case kLidError: out.assign(kErrorEntryLen, 0); return true;  // ELPE 0: one entry, no errors recorded
    case kLidSmart: out = smart_log(); return true;
    case kLidFirmwareSlot: out = firmware_slot_log(); return true;
    case kLidChangedNamespaces: out = ctrl.events().changed_namespace_log(rae); return true;
    default: return false;  // ANA and the rest: Invalid Log Page
  }
}

}  // namespace nvmefs::target
