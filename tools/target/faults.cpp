#include "faults.hpp"

#include <endian.h>

#include <cstddef>
#include <cstring>
#include <string>

extern "C" {
#include <nvme/types.h>
}

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {
namespace {

struct KindInfo {
  MalformedKind kind;
  std::string_view name;
  std::string_view help;
};

// The single list of kinds: parsing, names and --help come from here.
constexpr KindInfo kKinds[] = {
    {MalformedKind::DataOffset, "data-offset", "C2HData whose DATAO lies past the read's data (the default)"},
    {MalformedKind::UnknownCid, "unknown-cid", "C2HData for a command id nothing uses"},
    {MalformedKind::HugePlen, "huge-plen", "CapsuleResp whose PLEN claims 4 GiB"},
    {MalformedKind::Truncated, "truncated", "half a C2HData header, then close the connection"},
    {MalformedKind::BadHlen, "bad-hlen", "C2HData with HLEN 0x20 (must be 24)"},
    {MalformedKind::BadPdo, "bad-pdo", "C2HData whose PDO points inside its header"},
    {MalformedKind::BadDatal, "bad-datal", "C2HData whose DATAL is 4 more than PLEN leaves for data"},
    {MalformedKind::BadPlen, "bad-plen", "CapsuleResp whose PLEN (8) is shorter than its header"},
    {MalformedKind::HeaderDigest, "header-digest", "CapsuleResp with a wrong header digest (needs header digests)"},
    {MalformedKind::UnknownCidResp, "unknown-cid-resp", "CapsuleResp for a command id nothing uses"},
    {MalformedKind::R2tBeyond, "r2t-beyond", "R2T for 4 KiB more than the write carries (writes > in-capsule size)"},
    {MalformedKind::Hang, "hang", "from I/O command N+1 on, read I/O commands and never answer them"},
    {MalformedKind::IcRespMaxH2cData, "icresp-maxh2cdata", "ICResp of connection N+1 with MAXH2CDATA 1000"},
    {MalformedKind::IcRespPfv, "icresp-pfv", "ICResp of connection N+1 with PFV 1"},
    {MalformedKind::DiscoveryNumrec, "discovery-numrec", "discovery log NUMREC 1000 more than the records sent"},
    {MalformedKind::DiscoveryGenctr, "discovery-genctr", "discovery log GENCTR different on every read"},
    {MalformedKind::IdMdtsHuge, "id-mdts-huge", "Identify Controller MDTS 255"},
    {MalformedKind::IdNnHuge, "id-nn-huge", "Identify Controller NN 0xFFFFFFFF"},
    {MalformedKind::IdNszeZero, "id-nsze-zero", "Identify Namespace NSZE, NCAP, NUSE 0"},
    {MalformedKind::IdLbaFormat, "id-lba-format", "Identify Namespace FLBAS 5 with NLBAF 0 (index out of range)"},
    {MalformedKind::IdLbaDs, "id-lbads", "Identify Namespace LBADS 63"},
};

// Identify CNS values (NVMe Base 2.0 Figure 273).
constexpr uint8_t kCnsNamespace = 0x00;
constexpr uint8_t kCnsController = 0x01;

std::string build_help() {
  std::string out;
  for (const auto& k : kKinds) {
    out += "                                  ";
    out += k.name;
    out.append(k.name.size() < 19 ? 19 - k.name.size() : 1, ' ');
    out += k.help;
    out += '\n';
  }
  return out;
}

}  // namespace

std::optional<MalformedKind> parse_malformed_kind(std::string_view s) {
  for (const auto& k : kKinds)
    if (s == k.name) return k.kind;
  return std::nullopt;
}

std::string_view malformed_kind_name(MalformedKind k) {
  for (const auto& info : kKinds)
    if (info.kind == k) return info.name;
  return "?";
}

std::string_view malformed_kinds_help() {
  static const std::string help = build_help();
  return help;
}

// NVMe Base 2.0 Figure 258 (Discovery Log Page): GENCTR at byte 0, NUMREC at 8.
void FaultInjector::corrupt_discovery_log(std::span<uint8_t> log) {
  if (log.size() < sizeof(nvmf_discovery_log)) return;
  if (is(MalformedKind::DiscoveryGenctr))
    wire::put_le64(log.data() + offsetof(nvmf_discovery_log, genctr), genctr_.fetch_add(1) + 1);
  if (is(MalformedKind::DiscoveryNumrec)) {
    uint8_t* numrec = log.data() + offsetof(nvmf_discovery_log, numrec);
    wire::put_le64(numrec, wire::get_le64(numrec) + 1000);
  }
}

void FaultInjector::corrupt_identify(uint8_t cns, std::span<uint8_t> data) const {
  if (cns == kCnsController && data.size() >= sizeof(nvme_id_ctrl)) {
    auto* id = reinterpret_cast<nvme_id_ctrl*>(data.data());
    if (is(MalformedKind::IdMdtsHuge)) id->mdts = 255;
    if (is(MalformedKind::IdNnHuge)) id->nn = htole32(0xFFFFFFFFu);
  }
  if (cns == kCnsNamespace && data.size() >= sizeof(nvme_id_ns)) {
    auto* id = reinterpret_cast<nvme_id_ns*>(data.data());
    if (is(MalformedKind::IdNszeZero)) id->nsze = id->ncap = id->nuse = 0;
    if (is(MalformedKind::IdLbaFormat)) id->nlbaf = 0, id->flbas = 5;
    if (is(MalformedKind::IdLbaDs)) id->lbaf[0].ds = 63;
  }
}

}  // namespace nvmefs::target
