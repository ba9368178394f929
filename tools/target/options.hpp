// Command line of nvmefs-target: what to export, where, and with which limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "faults.hpp"
#include "nvmefs/transport/tls_psk.hpp"

namespace nvmefs::target {

struct DhchapConfig;  // auth.hpp

// One --ns argument: a file (or block device) path, or "ram"; size 0 = use the file's size.
struct NamespaceSpec {
  std::string path;
  uint64_t size = 0;
  bool ram = false;
};

// One --nqn and the --ns / --allow-host options that follow it.
struct SubsystemSpec {
  std::string nqn;
  std::vector<NamespaceSpec> namespaces;
  std::vector<std::string> allowed_hosts;  // empty = any host
};

struct Options {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 4420;
  std::vector<SubsystemSpec> subsystems;
  std::vector<std::string> allowed_hosts;  // --allow-host before any --nqn: for every subsystem

  uint32_t mdts_bytes = 1u << 20;     // 0 = no limit
  uint16_t max_io_queues = 8;
  uint16_t queue_size = 128;          // entries per queue (CAP.MQES + 1)
  uint32_t inline_data = 16 * 1024;   // in-capsule data on I/O queues
  uint32_t maxh2cdata = 1u << 20;     // per H2CData PDU
  uint32_t lba_size = 512;
  bool read_only = false;
  std::string model = "nvmefs-target";
  std::string serial;                 // empty = derived from the subsystem NQN
  int verbosity = 0;
  // --tls: the port speaks only TLS 1.3 with this configured PSK (--tls-key/--tls-key-file).
  std::shared_ptr<const transport::ConfiguredPsk> tls_key;
  // --dhchap-*: every allowed host must authenticate with DH-HMAC-CHAP (null = no authentication).
  std::shared_ptr<const DhchapConfig> dhchap;

  FaultOptions faults;

  // --control SOCKET: a unix socket for runtime changes (control_server.hpp); empty = none.
  std::string control_socket;
};

// Admin queue in-capsule data size (as Linux nvmet: 8 KiB, enough for Connect).
inline constexpr uint32_t kAdminInlineData = 8192;

// Parses argv; throws nvmefs::Error with one line on bad input. Prints the
// help and exits 0 for --help.
Options parse_options(int argc, char** argv);

// One namespace spec as --ns takes it: PATH[:SIZE] or ram:SIZE. Throws nvmefs::Error.
NamespaceSpec parse_namespace_spec(const std::string& arg);
// NQN rules (NVMe Base 2.0 §4.5); `what` names the argument in the error. Throws nvmefs::Error.
void check_nqn_syntax(const char* what, const std::string& nqn);

}  // namespace nvmefs::target
