#include "options.hpp"

#include <getopt.h>
#include <openssl/crypto.h>

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <limits>

#include "auth.hpp"
#include "auth_secret.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/secret_file.hpp"
#include "nvmefs/common/size_parse.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::target {
namespace {

constexpr const char* kUsage = R"(usage: nvmefs-target --listen HOST:PORT --nqn NQN --ns PATH[:SIZE] [--ns ...] [--nqn NQN2 --ns ...] [options]

A small NVMe/TCP target. Every --nqn starts a subsystem; the --ns options that
follow it become its namespaces 1, 2, ... in order. The same port also serves
the discovery controller (nqn.2014-08.org.nvmexpress.discovery).

  --listen HOST:PORT      address to listen on ([V6ADDR]:PORT for IPv6; port 0 = any free port)
  --nqn NQN               start a new subsystem
  --ns PATH[:SIZE]        namespace backed by a file or block device (created and grown to SIZE
                          when given, K/M/G suffixes), or ram:SIZE for memory
  --allow-host NQN        only this host may connect (repeatable; before any --nqn: all subsystems)
  --read-only             namespaces are write protected
  --lba-size 512|4096     logical block size (default 512)
  --mdts BYTES            maximum data transfer size, a power of two >= 4096, 0 = no limit (default 1M)
  --max-queues N          I/O queues per controller (default 8)
  --queue-size N          entries per queue, CAP.MQES + 1 (default 128)
  --inline-data BYTES     in-capsule data size of I/O queues, a multiple of 16 (default 16K; admin: 8K)
  --maxh2cdata BYTES      largest H2CData PDU the host may send (default 1M)
  --control SOCKET        accept runtime changes on this unix socket (created at start, removed
                          at exit); see "Runtime changes" below
  --model TEXT            model number (default nvmefs-target)
  --serial TEXT           serial number (default derived from the subsystem NQN)
  --tls                   TLS 1.3 only (NVMe/TCP TP 8011, PSK; plain NVMe/TCP hosts are turned away)
  --tls-key KEY           the configured PSK, NVMeTLSkey-1:HH:<base64>: (as nvme gen-tls-key prints)
  --tls-key-file FILE     the same, read from FILE (must not be readable by group or others)
  --dhchap-key SECRET     require in-band authentication (DH-HMAC-CHAP): the allowed hosts' key,
                          DHHC-1:XX:<base64>: (as nvme gen-dhchap-key prints; needs --allow-host)
  --dhchap-ctrl-key SECRET  the controller's key, for hosts that authenticate the controller too
  --dhchap-hash HASH      sha256, sha384 or sha512 (default sha256)
  --dhchap-dhgroup GROUP  null, ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144 or ffdhe8192 (default ffdhe2048)
  -v, --verbose           more logging (repeat for protocol traces)
  -h, --help              this help

Fault injection (for tests; counters are shared by all I/O queues, one-shot faults fire once):
  --fault-close-after N         close the connection of the I/O queue that completes the N-th I/O command
  --fault-delay-ms MS           delay every I/O command completion by MS milliseconds
  --fault-refuse-connect[=N]    refuse Connect (all, or the first N) with status 0x181 (controller busy)
  --fault-malformed N           misbehave as --fault-malformed-kind says: most kinds send one bad PDU in
                                reply to the first I/O command after the N-th; icresp-* count connections
                                instead; discovery-* and id-* act on every answer (give N = 0)
  --fault-malformed-kind KIND   one of:
)";

constexpr const char* kUsageEnd = R"(  --fault-digest-error N        after N I/O commands, corrupt the data digest of the next read's C2HData
                                (needs data digests)

Runs in the foreground until SIGTERM or SIGINT; prints "listening on HOST:PORT" when ready.

Runtime changes (on a target started with --control SOCKET):
  nvmefs-target --control SOCKET ctl COMMAND [ARGS...]
sends one command, prints the reply and exits 0, or prints one error line and exits 1:
  ns-add [--nqn NQN] NSID PATH[:SIZE]|ram:SIZE   add namespace NSID (1..1024), --ns syntax
  ns-remove [--nqn NQN] NSID                     remove namespace NSID
  ns-resize [--nqn NQN] NSID SIZE                new size (a file is truncated or extended;
                                                 a ram namespace up to its first size)
  subsys-add NQN [--ns SPEC]...                  add a subsystem (namespaces 1, 2, ...)
  subsys-remove NQN                              remove a subsystem, dropping its controllers
--nqn defaults to the first subsystem. Hosts get Namespace Attribute Changed and
Discovery Log Page Change asynchronous events.
)";

enum OptId : int {
  kListen = 256, kNqn, kNs, kAllowHost, kReadOnly, kLbaSize, kMdts, kMaxQueues, kQueueSize, kInlineData,
  kMaxH2cData, kModel, kSerial, kFaultCloseAfter, kFaultDelayMs, kFaultRefuseConnect, kFaultMalformed,
  kFaultMalformedKind, kFaultDigestError, kTls, kTlsKey, kTlsKeyFile, kDhchapKey, kDhchapCtrlKey, kDhchapHash,
  kDhchapDhgroup, kControl,
};

const option kLongOptions[] = {
    {"listen", required_argument, nullptr, kListen},
    {"nqn", required_argument, nullptr, kNqn},
    {"ns", required_argument, nullptr, kNs},
    {"allow-host", required_argument, nullptr, kAllowHost},
    {"read-only", no_argument, nullptr, kReadOnly},
    {"lba-size", required_argument, nullptr, kLbaSize},
    {"mdts", required_argument, nullptr, kMdts},
    {"max-queues", required_argument, nullptr, kMaxQueues},
    {"queue-size", required_argument, nullptr, kQueueSize},
    {"inline-data", required_argument, nullptr, kInlineData},
    {"maxh2cdata", required_argument, nullptr, kMaxH2cData},
    {"model", required_argument, nullptr, kModel},
    {"serial", required_argument, nullptr, kSerial},
    {"tls", no_argument, nullptr, kTls},
    {"tls-key", required_argument, nullptr, kTlsKey},
    {"tls-key-file", required_argument, nullptr, kTlsKeyFile},
    {"dhchap-key", required_argument, nullptr, kDhchapKey},
    {"dhchap-ctrl-key", required_argument, nullptr, kDhchapCtrlKey},
    {"dhchap-hash", required_argument, nullptr, kDhchapHash},
    {"dhchap-dhgroup", required_argument, nullptr, kDhchapDhgroup},
    {"control", required_argument, nullptr, kControl},
    {"verbose", no_argument, nullptr, 'v'},
    {"help", no_argument, nullptr, 'h'},
    {"fault-close-after", required_argument, nullptr, kFaultCloseAfter},
    {"fault-delay-ms", required_argument, nullptr, kFaultDelayMs},
    {"fault-refuse-connect", optional_argument, nullptr, kFaultRefuseConnect},
    {"fault-malformed", required_argument, nullptr, kFaultMalformed},
    {"fault-malformed-kind", required_argument, nullptr, kFaultMalformedKind},
    {"fault-digest-error", required_argument, nullptr, kFaultDigestError},
    {nullptr, 0, nullptr, 0},
};

[[noreturn]] void bad(const std::string& msg) { throw Error(msg + " (see --help)", 22 /*EINVAL*/); }

uint64_t number(const char* opt, const char* arg, uint64_t min, uint64_t max) {
  auto v = parse_uint(arg);
  if (!v || *v < min || *v > max) bad(fmt::format("--{}: '{}' is not a number in {}..{}", opt, arg, min, max));
  return *v;
}

uint64_t size_arg(const char* opt, const char* arg, uint64_t min, uint64_t max) {
  auto v = parse_size(arg);
  if (!v || *v < min || *v > max) bad(fmt::format("--{}: '{}' is not a size in {}..{}", opt, arg, min, max));
  return *v;
}

void parse_listen(const std::string& arg, Options& o) {
  auto colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0) bad(fmt::format("--listen: '{}' is not HOST:PORT", arg));
  std::string host = arg.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos) bad(fmt::format("--listen: write IPv6 addresses as [ADDR]:PORT, not '{}'", arg));
  auto port = parse_uint(arg.substr(colon + 1));
  if (host.empty() || !port || *port > 65535) bad(fmt::format("--listen: '{}' is not HOST:PORT", arg));
  o.listen_host = host;
  o.listen_port = uint16_t(*port);
}

// PATH[:SIZE] or ram:SIZE. The suffix is a size only if it parses as one,
// so paths containing ':' still work without a size.
NamespaceSpec parse_ns_spec(const std::string& arg) {
  NamespaceSpec ns;
  ns.path = arg;
  if (auto colon = arg.rfind(':'); colon != std::string::npos) {
    if (auto size = parse_size(arg.substr(colon + 1))) {
      ns.path = arg.substr(0, colon);
      ns.size = *size;
      if (ns.size == 0) bad(fmt::format("--ns {}: size must not be 0", arg));
    }
  }
  ns.ram = ns.path == "ram";
  if (ns.path.empty()) bad(fmt::format("--ns '{}': missing path", arg));
  if (ns.ram && ns.size == 0) bad("--ns ram needs a size (ram:SIZE)");
  return ns;
}

// NQN rules: NVMe Base 2.0 §4.5 (at most 223 bytes, "nqn." prefix).
void check_nqn(const char* opt, const std::string& nqn) {
  if (nqn.size() > 223) bad(fmt::format("--{}: NQN longer than 223 bytes", opt));
  if (nqn.rfind("nqn.", 0) != 0) bad(fmt::format("--{}: '{}' does not start with 'nqn.'", opt, nqn));
}

void validate(const Options& o) {
  if (o.subsystems.empty()) bad("no subsystem: give at least --nqn NQN --ns PATH[:SIZE]");
  for (size_t i = 0; i < o.subsystems.size(); ++i) {
    const auto& s = o.subsystems[i];
    if (s.nqn == wire::kDiscoveryNqn) bad("--nqn: the discovery NQN is served automatically");
    if (s.namespaces.empty()) bad(fmt::format("subsystem {} has no --ns", s.nqn));
    for (size_t j = 0; j < i; ++j)
      if (o.subsystems[j].nqn == s.nqn) bad(fmt::format("--nqn {} given twice", s.nqn));
    // The key belongs to the allowed hosts: with any host allowed it would be everyone's key.
    if (o.dhchap && o.allowed_hosts.empty() && s.allowed_hosts.empty())
      bad(fmt::format("--dhchap-key needs --allow-host (subsystem {} allows any host)", s.nqn));
  }
  if (o.mdts_bytes != 0 && (o.mdts_bytes < 4096 || (o.mdts_bytes & (o.mdts_bytes - 1))))
    bad(fmt::format("--mdts: {} is not a power of two >= 4096 (or 0)", o.mdts_bytes));
  if (o.inline_data % 16) bad("--inline-data: must be a multiple of 16");
  if (o.maxh2cdata % 4) bad("--maxh2cdata: must be a multiple of 4");
}

// The --dhchap-* options (all empty: no authentication). Secrets never appear in errors.
std::shared_ptr<const DhchapConfig> parse_dhchap(const std::string& key, const std::string& ctrl_key,
                                                 const std::string& hash, const std::string& dhgroup) {
  if (key.empty()) {
    if (!ctrl_key.empty() || !hash.empty() || !dhgroup.empty())
      bad("--dhchap-ctrl-key/--dhchap-hash/--dhchap-dhgroup need --dhchap-key");
    return nullptr;
  }
  auto secret = [](const std::string& text, const char* option) {
    try {
      return host::parse_dhchap_secret(text);
    } catch (const Error& e) {
      bad(fmt::format("--{}: {}", option, e.what()));
    }
  };
  auto c = std::make_shared<DhchapConfig>();
  c->host_key = secret(key, "dhchap-key");
  if (!ctrl_key.empty()) c->ctrl_key = secret(ctrl_key, "dhchap-ctrl-key");
  try {
    if (!hash.empty()) c->hash = parse_auth_hash(hash);
    if (!dhgroup.empty()) c->dhgroup = parse_dhgroup(dhgroup);
  } catch (const Error& e) {
    bad(e.what());
  }
  return c;
}

}  // namespace

NamespaceSpec parse_namespace_spec(const std::string& arg) { return parse_ns_spec(arg); }
void check_nqn_syntax(const char* what, const std::string& nqn) { check_nqn(what, nqn); }

Options parse_options(int argc, char** argv) {
  Options o;
  bool tls = false;
  std::string tls_key_text;
  std::string dhchap_key, dhchap_ctrl_key, dhchap_hash, dhchap_dhgroup;
  constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
  opterr = 0;  // we print our own one-line errors
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":vh", kLongOptions, nullptr)) != -1) {
    const char* name = nullptr;
    for (const auto& lo : kLongOptions)
      if (lo.val == c) name = lo.name;
    switch (c) {
      case kListen: parse_listen(optarg, o); break;
      case kNqn:
        check_nqn(name, optarg);
        o.subsystems.push_back(SubsystemSpec{optarg, {}, {}});
        break;
      case kNs:
        if (o.subsystems.empty()) bad("--ns must follow the --nqn of its subsystem");
        o.subsystems.back().namespaces.push_back(parse_ns_spec(optarg));
        break;
      case kAllowHost:
        check_nqn(name, optarg);
        (o.subsystems.empty() ? o.allowed_hosts : o.subsystems.back().allowed_hosts).push_back(optarg);
        break;
      case kReadOnly: o.read_only = true; break;
      case kLbaSize:
        o.lba_size = uint32_t(number(name, optarg, 512, 4096));
        if (o.lba_size != 512 && o.lba_size != 4096) bad("--lba-size: must be 512 or 4096");
        break;
      case kMdts: o.mdts_bytes = uint32_t(size_arg(name, optarg, 0, 1u << 30)); break;
      case kMaxQueues: o.max_io_queues = uint16_t(number(name, optarg, 1, 1024)); break;
      case kQueueSize: o.queue_size = uint16_t(number(name, optarg, 2, 65535)); break;
      case kInlineData: o.inline_data = uint32_t(size_arg(name, optarg, 0, 1u << 20)); break;
      case kMaxH2cData: o.maxh2cdata = uint32_t(size_arg(name, optarg, 4096, 64u << 20)); break;
      case kModel: o.model = optarg; break;
      case kSerial: o.serial = optarg; break;
      case kControl:
        if (!*optarg) bad("--control: empty socket path");
        o.control_socket = optarg;
        break;
      case kTls: tls = true; break;
      case kTlsKey: tls_key_text = optarg; break;
      case kTlsKeyFile: tls_key_text = read_secret_file(optarg); break;
      case kDhchapKey: dhchap_key = optarg; break;
      case kDhchapCtrlKey: dhchap_ctrl_key = optarg; break;
      case kDhchapHash: dhchap_hash = optarg; break;
      case kDhchapDhgroup: dhchap_dhgroup = optarg; break;
      case 'v': ++o.verbosity; break;
      case 'h':
        std::fputs(kUsage, stdout);
        std::fwrite(malformed_kinds_help().data(), 1, malformed_kinds_help().size(), stdout);
        std::fputs(kUsageEnd, stdout);
        std::exit(0);
      case kFaultCloseAfter: o.faults.close_after = number(name, optarg, 1, kU64Max); break;
      case kFaultDelayMs: o.faults.delay_ms = uint32_t(number(name, optarg, 0, 600000)); break;
      case kFaultRefuseConnect: o.faults.refuse_connect = optarg ? number(name, optarg, 1, kU64Max) : kU64Max; break;
      case kFaultMalformed: o.faults.malformed_after = number(name, optarg, 0, kU64Max); break;
      case kFaultMalformedKind: {
        auto k = parse_malformed_kind(optarg);
        if (!k) bad(fmt::format("--fault-malformed-kind: '{}' is not data-offset or another kind --help lists", optarg));
        o.faults.malformed_kind = *k;
        break;
      }
      case kFaultDigestError: o.faults.digest_error_after = number(name, optarg, 0, kU64Max); break;
      case ':': bad(fmt::format("option '{}' needs a value", argv[optind - 1]));
      default: bad(fmt::format("unknown option '{}'", argv[optind - 1]));
    }
  }
  if (optind < argc) bad(fmt::format("unexpected argument '{}'", argv[optind]));
  if (tls && tls_key_text.empty()) bad("--tls needs --tls-key KEY or --tls-key-file FILE");
  if (!tls && !tls_key_text.empty()) bad("--tls-key/--tls-key-file need --tls");
  if (tls) {
    o.tls_key = std::make_shared<const transport::ConfiguredPsk>(transport::parse_tls_key(tls_key_text));
    OPENSSL_cleanse(tls_key_text.data(), tls_key_text.size());
  }
  o.dhchap = parse_dhchap(dhchap_key, dhchap_ctrl_key, dhchap_hash, dhchap_dhgroup);
  validate(o);
  return o;
}

}  // namespace nvmefs::target
