#include "options.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <fmt/format.h>

#include "nvmefs/common/secret_file.hpp"
#include "nvmefs/common/size_parse.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::daemon {
namespace {

using Apply = void (*)(Config&, std::string_view value);

struct OptionSpec {
  const char* name;
  const char* value;  // placeholder for --help; nullptr for a flag
  const char* default_text;
  const char* help;
  Apply apply;
};

[[noreturn]] void bad_value(std::string_view name, std::string_view value, std::string_view expected) {
  throw UsageError(fmt::format("invalid value '{}' for option '{}' (expected {})", value, name, expected));
}

uint64_t size_value(std::string_view name, std::string_view v) {
  auto n = parse_size(v);
  if (!n) bad_value(name, v, "a size like 4096, 64K, 256M, 1G");
  return *n;
}

uint64_t uint_value(std::string_view name, std::string_view v, uint64_t min, uint64_t max) {
  auto n = parse_uint(v);
  if (!n || *n < min || *n > max) bad_value(name, v, fmt::format("an integer from {} to {}", min, max));
  return *n;
}

std::string string_value(std::string_view name, std::string_view v) {
  if (v.empty()) bad_value(name, v, "a non-empty string");
  return std::string(v);
}

// A secret given inline: checked for its prefix only, never echoed back.
std::string secret_value(std::string_view name, std::string_view v, std::string_view prefix) {
  if (v.substr(0, prefix.size()) != prefix)
    throw UsageError(fmt::format("option '{}': not a key in {}...: form", name, prefix));
  return std::string(v);
}

// A secret read from a file (refused when group or others can read it).
std::string secret_file_value(std::string_view name, std::string_view path, std::string_view prefix) {
  std::string secret;
  try {
    secret = read_secret_file(string_value(name, path));
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(fmt::format("option '{}': {}", name, e.what()));
  }
  if (secret.substr(0, prefix.size()) != prefix)
    throw UsageError(fmt::format("option '{}': {} does not hold a key in {}...: form", name, path, prefix));
  return secret;
}

constexpr std::string_view kDhchapPrefix = "DHHC-1:";
constexpr std::string_view kTlsKeyPrefix = "NVMeTLSkey-1:";

void set_subnqn(Config& c, std::string_view nqn) {
  bool was_discovery = c.connect.target.subnqn.empty() || c.connect.target.subnqn == wire::kDiscoveryNqn;
  bool is_discovery = nqn == wire::kDiscoveryNqn;
  auto& port = c.connect.target.trsvcid;
  // A port that was only the default for the old kind of controller follows the new kind.
  if (was_discovery != is_discovery && (port == host::kDefaultIoPort || port == host::kDefaultDiscoveryPort))
    port.clear();
  c.connect.target.subnqn = std::string(nqn);
}

// Every -o option, declared once: parsing and --help both read this table.
const std::array kOptions = {
    // ---- target (override or replace the URI) ----
    OptionSpec{"transport", "tcp|rdma", "from the URI", "transport type",
               [](Config& c, std::string_view v) {
                 if (v != "tcp" && v != "rdma") bad_value("transport", v, "tcp or rdma");
                 c.connect.target.trtype = std::string(v);
               }},
    OptionSpec{"traddr", "ADDR", "from the URI", "target address",
               [](Config& c, std::string_view v) { c.connect.target.traddr = string_value("traddr", v); }},
    OptionSpec{"trsvcid", "PORT", "4420 (discovery: 8009)", "target port",
               [](Config& c, std::string_view v) {
                 c.connect.target.trsvcid = std::to_string(uint_value("trsvcid", v, 1, 65535));
               }},
    OptionSpec{"nqn", "NQN", "from the URI", "subsystem NQN (the discovery NQN mounts every subsystem)",
               [](Config& c, std::string_view v) {
                 if (v.substr(0, 4) != "nqn." || v.size() > 223) bad_value("nqn", v, "an NQN starting with 'nqn.'");
                 set_subnqn(c, v);
               }},
    OptionSpec{"path", "URI", "none", "one more path to the same subsystem (repeatable; native multipath)",
               [](Config& c, std::string_view v) {
                 std::string err;
                 auto uri = parse_nvme_uri(v, err);
                 if (!uri) throw UsageError(fmt::format("option 'path': {}", err));
                 if (uri->discovery)
                   throw UsageError("option 'path': give the subsystem's NQN (nvme+tcp://HOST[:PORT]/SUBSYSNQN)");
                 c.extra_paths.push_back(uri->tid);
               }},
    OptionSpec{"iopolicy", "round-robin|queue-depth", "round-robin", "multipath: how requests are spread over paths",
               [](Config& c, std::string_view v) {
                 if (v == "round-robin") c.iopolicy = host::IoPolicy::RoundRobin;
                 else if (v == "queue-depth") c.iopolicy = host::IoPolicy::QueueDepth;
                 else bad_value("iopolicy", v, "round-robin or queue-depth");
               }},
    // ---- host and controller (nvme-cli names) ----
    OptionSpec{"hostnqn", "NQN", "/etc/nvme/hostnqn", "host NQN",
               [](Config& c, std::string_view v) { c.connect.hostnqn = string_value("hostnqn", v); }},
    OptionSpec{"hostid", "UUID", "/etc/nvme/hostid", "host identifier",
               [](Config& c, std::string_view v) { c.connect.hostid = string_value("hostid", v); }},
    OptionSpec{"nr_io_queues", "N", "number of CPUs", "I/O queues",
               [](Config& c, std::string_view v) { c.connect.nr_io_queues = uint32_t(uint_value("nr_io_queues", v, 1, 1024)); }},
    OptionSpec{"queue_size", "N", "128", "entries per I/O queue",
               [](Config& c, std::string_view v) { c.connect.queue_size = uint32_t(uint_value("queue_size", v, 16, 1024)); }},
    OptionSpec{"hdr_digest", nullptr, "off", "NVMe/TCP header digest",
               [](Config& c, std::string_view) { c.connect.hdr_digest = true; }},
    OptionSpec{"data_digest", nullptr, "off", "NVMe/TCP data digest",
               [](Config& c, std::string_view) { c.connect.data_digest = true; }},
    OptionSpec{"keep_alive_tmo", "SECONDS", "5", "keep-alive timeout (0 disables)",
               [](Config& c, std::string_view v) { c.connect.keep_alive_tmo = uint32_t(uint_value("keep_alive_tmo", v, 0, 65535)); }},
    OptionSpec{"ctrl_loss_tmo", "SECONDS", "600", "give up reconnecting after this (-1: never)",
               [](Config& c, std::string_view v) {
                 auto n = parse_int(v);
                 if (!n || *n < -1 || *n > INT32_MAX) bad_value("ctrl_loss_tmo", v, "-1 or a number of seconds");
                 c.connect.ctrl_loss_tmo = int32_t(*n);
               }},
    OptionSpec{"reconnect_delay", "SECONDS", "10", "delay between reconnect attempts",
               [](Config& c, std::string_view v) { c.connect.reconnect_delay = uint32_t(uint_value("reconnect_delay", v, 1, 3600)); }},
    // ---- security (secrets are never logged; prefer the *_file forms: argv is public) ----
    OptionSpec{"dhchap_secret", "DHHC-1:..", "none", "DH-HMAC-CHAP host key (in-band authentication)",
               [](Config& c, std::string_view v) { c.connect.dhchap_secret = secret_value("dhchap_secret", v, kDhchapPrefix); }},
    OptionSpec{"dhchap_secret_file", "PATH", "none", "read the host key from a file (mode 0600 or stricter)",
               [](Config& c, std::string_view v) {
                 c.connect.dhchap_secret = secret_file_value("dhchap_secret_file", v, kDhchapPrefix);
               }},
    OptionSpec{"dhchap_ctrl_secret", "DHHC-1:..", "none", "controller key: bidirectional authentication",
               [](Config& c, std::string_view v) {
                 c.connect.dhchap_ctrl_secret = secret_value("dhchap_ctrl_secret", v, kDhchapPrefix);
               }},
    OptionSpec{"dhchap_ctrl_secret_file", "PATH", "none", "read the controller key from a file",
               [](Config& c, std::string_view v) {
                 c.connect.dhchap_ctrl_secret = secret_file_value("dhchap_ctrl_secret_file", v, kDhchapPrefix);
               }},
    OptionSpec{"tls", nullptr, "off", "NVMe/TCP over TLS 1.3 with a pre-shared key",
               [](Config& c, std::string_view) { c.connect.tls = true; }},
    OptionSpec{"tls_key", "NVMeTLSkey-1:..", "none", "the configured TLS PSK (implies tls)",
               [](Config& c, std::string_view v) {
                 c.connect.tls_key = secret_value("tls_key", v, kTlsKeyPrefix);
                 c.connect.tls = true;
               }},
    OptionSpec{"tls_key_file", "PATH", "none", "read the TLS PSK from a file (implies tls)",
               [](Config& c, std::string_view v) {
                 c.connect.tls_key = secret_file_value("tls_key_file", v, kTlsKeyPrefix);
                 c.connect.tls = true;
               }},
    // ---- block cache ----
    OptionSpec{"cache", "none|writethrough|writeback", "writethrough", "block cache mode",
               [](Config& c, std::string_view v) {
                 using cache::Mode;
                 if (v == "none") c.cache.mode = Mode::None;
                 else if (v == "writethrough") c.cache.mode = Mode::WriteThrough;
                 else if (v == "writeback") c.cache.mode = Mode::WriteBack;
                 else bad_value("cache", v, "none, writethrough or writeback");
               }},
    OptionSpec{"cache_size", "SIZE", "256M", "cached data per namespace",
               [](Config& c, std::string_view v) { c.cache.cache_size = size_value("cache_size", v); }},
    OptionSpec{"cache_block", "SIZE", "64K", "cache block size (a multiple of the LBA size)",
               [](Config& c, std::string_view v) {
                 uint64_t n = size_value("cache_block", v);
                 if (n == 0 || n > (64u << 20)) bad_value("cache_block", v, "a size from 1 byte to 64M");
                 c.cache.cache_block = uint32_t(n);
               }},
    OptionSpec{"readahead", "SIZE", "4M", "largest readahead window (0 disables)",
               [](Config& c, std::string_view v) { c.cache.readahead_max = size_value("readahead", v); }},
    OptionSpec{"dirty_max", "SIZE", "64M", "writeback: dirty data above which writers wait",
               [](Config& c, std::string_view v) { c.cache.dirty_max = size_value("dirty_max", v); }},
    OptionSpec{"dirty_expire", "SECONDS", "5", "writeback: write back dirty data older than this",
               [](Config& c, std::string_view v) {
                 c.cache.dirty_expire_ms = uint32_t(uint_value("dirty_expire", v, 0, 86400) * 1000);
               }},
    // ---- files ----
    OptionSpec{"uid", "UID", "the mounting user", "owner of the files",
               [](Config& c, std::string_view v) { c.fs.uid = uid_t(uint_value("uid", v, 0, 0xFFFFFFFEu)); }},
    OptionSpec{"gid", "GID", "the mounting group", "group of the files",
               [](Config& c, std::string_view v) { c.fs.gid = gid_t(uint_value("gid", v, 0, 0xFFFFFFFEu)); }},
    OptionSpec{"umask", "OCTAL", "0022 (files 0644, directories 0755)", "permission bits to clear",
               [](Config& c, std::string_view v) {
                 bool octal = !v.empty() && v.size() <= 4 && std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '7'; });
                 if (!octal) bad_value("umask", v, "an octal mask like 022");
                 c.fs.umask = mode_t(std::stoul(std::string(v), nullptr, 8) & 0777);
               }},
    OptionSpec{"allow_other", nullptr, "off", "let other users access the files (non-root: needs user_allow_other in /etc/fuse.conf)",
               [](Config& c, std::string_view) { c.fs.allow_other = true; }},
    OptionSpec{"default_permissions", nullptr, "always on", "the kernel checks the file modes",
               [](Config&, std::string_view) {}},
    OptionSpec{"ro", nullptr, "off", "mount read-only",
               [](Config& c, std::string_view) { c.fs.read_only = true; }},
    OptionSpec{"kernel_cache", nullptr, "off (direct I/O)", "use the kernel page cache too (see docs/FS.md)",
               [](Config& c, std::string_view) { c.fs.kernel_cache = true; }},
    OptionSpec{"debug", nullptr, "off", "debug log and FUSE debug output (like -d)",
               [](Config& c, std::string_view) { c.debug = true; }},
};

// Kernel mount flags passed through unchanged.
constexpr std::array<std::string_view, 11> kPassThrough = {"suid",  "nosuid", "dev",     "nodev",   "exec",      "noexec",
                                                           "async", "sync",   "dirsync", "noatime", "nodiratime"};
// Options that mount(8), fstab or mount.fuse3 add: accepted and ignored.
constexpr std::array<std::string_view, 9> kIgnored = {"_netdev", "nofail",  "auto",   "noauto", "user",
                                                      "users",   "defaults", "rw",    "nouser"};
constexpr std::array<std::string_view, 4> kIgnoredPrefixes = {"x-", "comment=", "fsname=", "subtype="};

void apply_option(Config& c, std::string_view opt) {
  if (opt.empty()) return;
  auto eq = opt.find('=');
  std::string_view name = opt.substr(0, eq);
  std::string_view value = eq == std::string_view::npos ? std::string_view{} : opt.substr(eq + 1);
  if (std::find(kIgnored.begin(), kIgnored.end(), opt) != kIgnored.end()) return;
  for (auto p : kIgnoredPrefixes)
    if (opt.substr(0, p.size()) == p) return;
  if (std::find(kPassThrough.begin(), kPassThrough.end(), opt) != kPassThrough.end()) {
    c.fs.mount_options.emplace_back(opt);
    return;
  }
  for (const OptionSpec& spec : kOptions) {
    if (name != spec.name) continue;
    if (!spec.value && eq != std::string_view::npos) throw UsageError(fmt::format("option '{}' takes no value", name));
    if (spec.value && eq == std::string_view::npos)
      throw UsageError(fmt::format("option '{}' needs a value ({}={})", name, name, spec.value));
    spec.apply(c, value);
    return;
  }
  throw UsageError(fmt::format("unknown option '{}'", name));
}

// Splits "a,b,c" (a ',' escaped by '\' stays in the option).
std::vector<std::string> split_options(std::string_view list) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == '\\' && i + 1 < list.size()) out.back().push_back(list[++i]);
    else if (list[i] == ',') out.emplace_back();
    else out.back().push_back(list[i]);
  }
  return out;
}

}  // namespace

Config parse_command_line(const std::vector<std::string>& args) {
  Config c;
  c.fs.uid = getuid();
  c.fs.gid = getgid();
  std::vector<std::string> positional, options;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") c.help = true;
    else if (a == "-V" || a == "--version") c.version = true;
    else if (a == "-f") c.foreground = true;
    else if (a == "-d") c.debug = c.foreground = true;
    else if (a == "-o") {
      if (++i == args.size()) throw UsageError("option '-o' needs an argument");
      options.push_back(args[i]);
    } else if (a.size() > 2 && a.substr(0, 2) == "-o") options.push_back(a.substr(2));
    else if (a.size() > 1 && a[0] == '-') throw UsageError(fmt::format("unknown option '{}' (see nvmefs --help)", a));
    else positional.push_back(a);
  }
  if (c.help || c.version) return c;
  if (positional.size() < 2) throw UsageError("missing URI or mount point (usage: nvmefs nvme+tcp://HOST[:PORT]/SUBSYSNQN MOUNTPOINT [-o OPTIONS])");
  if (positional.size() > 2) throw UsageError(fmt::format("unexpected argument '{}'", positional[2]));
  c.source = positional[0];
  c.mountpoint = positional[1];

  // The URI first; -o options override its parts (or replace it: "none" -o traddr=...,nqn=...).
  bool is_uri = c.source.find("://") != std::string::npos;
  if (is_uri) {
    std::string err;
    auto uri = parse_nvme_uri(c.source, err);
    if (!uri) throw UsageError(err);
    c.connect.target = uri->tid;
  }
  for (const auto& list : options)
    for (const auto& opt : split_options(list)) apply_option(c, opt);
  auto& tid = c.connect.target;
  if (tid.traddr.empty())
    throw UsageError(fmt::format("'{}' is not an NVMe URI (expected nvme+tcp://HOST[:PORT]/SUBSYSNQN)", c.source));
  if (tid.subnqn.empty()) tid.subnqn = wire::kDiscoveryNqn;
  c.discovery = tid.subnqn == wire::kDiscoveryNqn;
  if (tid.trsvcid.empty()) tid.trsvcid = c.discovery ? host::kDefaultDiscoveryPort : host::kDefaultIoPort;
  for (const auto& path : c.extra_paths) {
    if (c.discovery) throw UsageError("option 'path' needs a subsystem NQN in the URI, not discovery");
    if (path.subnqn != tid.subnqn)
      throw UsageError(fmt::format("option 'path': {} is another subsystem than {}", path.subnqn, tid.subnqn));
  }
  c.fs.fsname = is_uri ? c.source : format_nvme_uri(tid);
  c.fs.debug = c.debug;
  c.connect.trace = c.debug;
  return c;
}

std::string help_text() {
  std::string s =
      "usage: nvmefs nvme+tcp://HOST[:PORT]/SUBSYSNQN MOUNTPOINT [-o OPTION[,OPTION...]] [-f] [-d]\n"
      "       nvmefs nvme+tcp://HOST[:PORT] MOUNTPOINT ...   (discovery: one directory per subsystem)\n"
      "\n"
      "Mounts each active namespace of an NVMe-oF subsystem as a file MOUNTPOINT/ns<NSID>.\n"
      "\n"
      "  -f             stay in the foreground, log to stderr (default: background, syslog)\n"
      "  -d             debug: like -f -o debug\n"
      "  -h, --help     this text\n"
      "  -V, --version  print the version\n"
      "\n"
      "Options (-o NAME=VALUE or NAME), default in brackets:\n";
  for (const OptionSpec& o : kOptions) {
    std::string left = o.value ? fmt::format("{}={}", o.name, o.value) : o.name;
    s += fmt::format("  {:<40} {} [{}]\n", left, o.help, o.default_text);
  }
  s += "\nPassed to the kernel: ";
  for (auto p : kPassThrough) s += fmt::format("{} ", p);
  s += "\nIgnored (for mount(8) and fstab): ";
  for (auto p : kIgnored) s += fmt::format("{} ", p);
  s += "x-* comment=* fsname=* subtype=*\n";
  s +=
      "\nExit codes: 0 success, 1 bad command line/URI/option/mount point, 2 cannot connect,\n"
      "            3 cannot mount (or namespace busy), 4 final write-back failed\n";
  return s;
}

}  // namespace nvmefs::daemon
