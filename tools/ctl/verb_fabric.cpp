// discover and identify: talk to a target directly (no daemon involved).
#include <endian.h>

#include <cstdio>
#include <fmt/format.h>

#include "nvmefs/common/uri.hpp"
#include "nvmefs/control/json.hpp"
#include "nvmefs/host/controller.hpp"
#include "nvmefs/wire/discovery_log.hpp"
#include "verb.hpp"

namespace nvmefs::ctl {
namespace {

using json::Value;

host::ConnectOptions options_from(const Args& a, const NvmeUri& uri) {
  host::ConnectOptions o;
  o.target = uri.tid;
  o.hostnqn = a.get("hostnqn");
  o.nr_io_queues = 1;  // identify needs no I/O; keep the target's work small
  o.keep_alive_tmo = 0;
  return o;
}

NvmeUri uri_argument(const Args& a, const char* verb) {
  if (a.positional.size() != 1)
    throw UsageError(fmt::format("{}: expected one nvme+tcp:// URI (see nvmefs-ctl {} --help)", verb, verb));
  std::string err;
  auto uri = parse_nvme_uri(a.positional[0], err);
  if (!uri) throw UsageError(fmt::format("{}: {}", verb, err));
  return *uri;
}

// ---- discover ----

// NVMe-oF 1.1 Figure 38: TREQ bits 1:0 secure channel, bit 2 SQ flow control disable.
std::string treq_text(uint8_t treq) {
  static const char* channel[] = {"not specified", "required", "not required", "reserved"};
  std::string s = channel[treq & 3];
  if (treq & 4) s += ", sq flow control disable supported";
  return s;
}

// EFLAGS (NVMe-oF 1.1 + TP 8013/8014): bit 0 DUPRETINFO, bit 1 EPCSD, bit 2 NCC.
std::string eflags_text(uint16_t eflags) {
  std::string s;
  auto add = [&s](const char* t) { s += s.empty() ? t : fmt::format(", {}", t); };
  if (eflags & 1) add("duplicate discovery information");
  if (eflags & 2) add("explicit discovery connections");
  if (eflags & 4) add("no cdc connectivity");
  return s.empty() ? "none" : s;
}

// TSAS.SECTYPE for TCP (NVMe/TCP 1.0 §3.5.2 + TP 8011): 0 none, 1 TLS 1.2, 2 TLS 1.3.
const char* sectype_text(uint8_t t) { return t == 0 ? "none" : t == 1 ? "tls" : t == 2 ? "tls13" : "reserved"; }

Value entry_json(const wire::DiscoveryEntry& e) {
  Value v = Value::object();
  v.set("trtype", wire::trtype_name(e.trtype));
  v.set("adrfam", wire::adrfam_name(e.adrfam));
  v.set("subtype", wire::subtype_name(e.subtype));
  v.set("treq", treq_text(e.treq));
  v.set("portid", unsigned(e.portid));
  v.set("trsvcid", e.trsvcid);
  v.set("subnqn", e.subnqn);
  v.set("traddr", e.traddr);
  v.set("eflags", eflags_text(e.eflags));
  v.set("sectype", sectype_text(e.tcp_sectype));
  return v;
}

// ---- identify ----

std::string hex_id(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

std::string version_text(uint32_t vs) { return fmt::format("{}.{}.{}", vs >> 16, (vs >> 8) & 0xff, vs & 0xff); }

// ONCS (NVMe Base 2.0 Figure 275): optional NVM commands.
std::string oncs_text(uint16_t oncs) {
  static const char* names[] = {"compare", "write-uncorrectable", "dataset-management", "write-zeroes",
                                "save-select", "reservations", "timestamp", "verify", "copy"};
  std::string s;
  for (unsigned b = 0; b < std::size(names); ++b)
    if (oncs & (1u << b)) s += s.empty() ? names[b] : fmt::format(",{}", names[b]);
  return s.empty() ? "none" : s;
}

Value controller_json(const host::ControllerInfo& ci) {
  const nvme_id_ctrl& id = ci.id;
  Value v = Value::object();
  v.set("vid", fmt::format("{:#06x}", le16toh(id.vid)));
  v.set("ssvid", fmt::format("{:#06x}", le16toh(id.ssvid)));
  v.set("sn", wire::ascii_field(id.sn, sizeof id.sn));
  v.set("mn", wire::ascii_field(id.mn, sizeof id.mn));
  v.set("fr", wire::ascii_field(id.fr, sizeof id.fr));
  v.set("ieee", fmt::format("{:02x}{:02x}{:02x}", id.ieee[2], id.ieee[1], id.ieee[0]));
  v.set("cmic", unsigned(id.cmic));
  v.set("mdts", unsigned(id.mdts));
  v.set("mdts_bytes", ci.mdts_bytes);
  v.set("cntlid", unsigned(le16toh(id.cntlid)));
  v.set("ver", version_text(le32toh(id.ver)));
  v.set("oacs", fmt::format("{:#x}", le16toh(id.oacs)));
  v.set("sqes", fmt::format("{:#x}", id.sqes));
  v.set("cqes", fmt::format("{:#x}", id.cqes));
  v.set("maxcmd", unsigned(le16toh(id.maxcmd)));
  v.set("nn", le32toh(id.nn));
  v.set("oncs", fmt::format("{:#x}", le16toh(id.oncs)));
  v.set("oncs_commands", oncs_text(le16toh(id.oncs)));
  v.set("vwc", fmt::format("{:#x}", id.vwc));
  v.set("volatile_write_cache", bool(id.vwc & 1));
  v.set("sgls", fmt::format("{:#x}", le32toh(id.sgls)));
  v.set("subnqn", wire::ascii_field(id.subnqn, sizeof id.subnqn));
  v.set("ioccsz", le32toh(id.ioccsz));
  v.set("iorcsz", le32toh(id.iorcsz));
  v.set("icdoff", unsigned(le16toh(id.icdoff)));
  v.set("msdbd", unsigned(id.msdbd));
  return v;
}

Value namespace_json(const host::Namespace& ns) {
  const nvme_id_ns& id = ns.id();
  Value v = Value::object();
  v.set("nsid", ns.nsid());
  v.set("nsze", uint64_t(le64toh(id.nsze)));
  v.set("ncap", uint64_t(le64toh(id.ncap)));
  v.set("nuse", uint64_t(le64toh(id.nuse)));
  v.set("nsfeat", fmt::format("{:#x}", id.nsfeat));
  v.set("nlbaf", unsigned(id.nlbaf));
  v.set("flbas", fmt::format("{:#x}", id.flbas));
  v.set("nmic", unsigned(id.nmic));
  v.set("nguid", hex_id(id.nguid, sizeof id.nguid));
  v.set("eui64", hex_id(id.eui64, sizeof id.eui64));
  // FLBAS bits 3:0 and 6:5 select the format in use (NVMe Base 2.0 Figure 275).
  unsigned in_use = (id.flbas & 0xf) | ((id.flbas >> 1) & 0x30);
  Value& lbafs = v.set("lbafs", Value::array());
  for (unsigned i = 0; i <= id.nlbaf && i < 64; ++i) {
    Value f = Value::object();
    f.set("ms", unsigned(le16toh(id.lbaf[i].ms)));
    f.set("ds", unsigned(id.lbaf[i].ds));
    f.set("rp", unsigned(id.lbaf[i].rp & 3));
    f.set("in_use", i == in_use);
    lbafs.push(std::move(f));
  }
  v.set("size_bytes", ns.info().size_bytes.load());
  v.set("lba_size", ns.info().block_size);
  return v;
}

void print_fields(const Value& obj, const char* indent) {
  for (const auto& [k, v] : obj.members()) {
    if (v.is_array()) continue;
    std::string text = v.is_string() ? v.as_string() : v.dump();
    std::printf("%s%-20s: %s\n", indent, k.c_str(), text.c_str());
  }
}

}  // namespace

int run_discover(const Args& a) {
  NvmeUri uri;
  if (a.positional.size() == 1) {
    uri = uri_argument(a, "discover");
  } else {
    if (!a.positional.empty()) throw UsageError(fmt::format("discover: unexpected argument '{}'", a.positional[1]));
    if (!a.has("traddr")) throw UsageError("discover: missing -a HOST (or give a nvme+tcp://HOST[:PORT] URI)");
    std::string trtype = a.get("transport", "tcp");
    if (trtype != "tcp" && trtype != "rdma") throw UsageError(fmt::format("discover: unknown transport '{}'", trtype));
    uri.tid = {trtype, a.get("traddr"), a.get("trsvcid", host::kDefaultDiscoveryPort), wire::kDiscoveryNqn};
  }
  auto entries = host::discover(options_from(a, uri));
  Value records = Value::array();
  for (const auto& e : entries) records.push(entry_json(e));
  if (a.json()) {
    Value out = Value::object();
    out.set("records", std::move(records));
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("Discovery Log Number of Records %zu\n", entries.size());
  for (size_t i = 0; i < records.items().size(); ++i) {
    std::printf("=====Discovery Log Entry %zu======\n", i);
    print_fields(records.items()[i], "");
  }
  return 0;
}

int run_identify(const Args& a) {
  NvmeUri uri = uri_argument(a, "identify");
  if (uri.discovery) throw UsageError("identify: the URI needs a subsystem NQN (nvme+tcp://HOST[:PORT]/SUBSYSNQN)");
  uint32_t only = uri.nsid;
  if (a.has("ns")) {
    char* end = nullptr;
    std::string s = a.get("ns");
    unsigned long n = std::strtoul(s.c_str(), &end, 0);
    if (s.empty() || *end || n == 0 || n > 0xFFFFFFFEul) throw UsageError(fmt::format("identify: invalid NSID '{}'", s));
    only = uint32_t(n);
  }
  auto ctrl = host::Controller::connect(options_from(a, uri));
  Value out = Value::object();
  out.set("controller", controller_json(ctrl->info()));
  Value& nss = out.set("namespaces", Value::array());
  if (only) {
    auto ns = ctrl->ns(only);
    if (!ns) throw Error(fmt::format("namespace {} is not active on {}", only, uri.tid.subnqn));
    nss.push(namespace_json(*ns));
  } else {
    for (const auto& ns : ctrl->namespaces()) nss.push(namespace_json(*ns));
  }
  ctrl->disconnect();
  if (a.json()) {
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("Identify Controller:\n");
  print_fields(out.get("controller"), "  ");
  for (const auto& ns : nss.items()) {
    std::printf("\nIdentify Namespace %llu:\n", static_cast<unsigned long long>(ns.get("nsid").as_u64()));
    print_fields(ns, "  ");
    unsigned i = 0;
    for (const auto& f : ns.get("lbafs").items())
      std::printf("  lbaf %2u : ms:%-3llu lbads:%-2llu rp:%llu%s\n", i++, static_cast<unsigned long long>(f.get("ms").as_u64()),
                  static_cast<unsigned long long>(f.get("ds").as_u64()), static_cast<unsigned long long>(f.get("rp").as_u64()),
                  f.get("in_use").as_bool() ? " (in use)" : "");
  }
  return 0;
}

}  // namespace nvmefs::ctl
