// Connection options of the initiator, with nvme-cli's names and the Linux
// host's defaults (drivers/nvme/host/fabrics.h). Declared once here; parsers
// (URI, -o options) fill this struct.
#pragma once

#include <cstdint>
#include <string>

namespace nvmefs::host {

inline constexpr const char* kDefaultIoPort = "4420";         // NVMe/TCP I/O (IANA)
inline constexpr const char* kDefaultDiscoveryPort = "8009";  // NVMe/TCP discovery (IANA)

struct TransportId {
  std::string trtype = "tcp";  // "tcp" (or "rdma")
  std::string traddr;          // host name or address
  std::string trsvcid;         // port; empty = default for the NQN
  std::string subnqn;          // subsystem NQN; discovery NQN for discovery
};

struct ConnectOptions {
  TransportId target;
  std::string hostnqn;  // empty: /etc/nvme/hostnqn, else generated from the machine (libnvme)
  std::string hostid;   // empty: /etc/nvme/hostid, else the UUID of a uuid-form hostnqn

  uint32_t nr_io_queues = 0;        // 0 = number of online CPUs
  uint32_t queue_size = 128;        // I/O queue entries (16..1024)
  uint32_t keep_alive_tmo = 5;      // seconds; 0 disables keep-alive
  int32_t ctrl_loss_tmo = 600;      // seconds; -1 = reconnect forever
  uint32_t reconnect_delay = 10;    // seconds
  int32_t fast_io_fail_tmo = -1;    // seconds; -1 = off
  bool hdr_digest = false;
  bool data_digest = false;

  // In-band authentication, DH-HMAC-CHAP (NVMe Base 2.0 §8.13.5), with nvme-cli's
  // names; each is a secret in "DHHC-1:XX:<base64>:" form (host/dhchap.hpp).
  // dhchap_secret: the host's key, used when the controller asks for
  // authentication. dhchap_ctrl_secret: the controller's key; set, it makes
  // authentication bidirectional and the connect fails unless the controller
  // proves it holds that key. Never logged.
  std::string dhchap_secret;
  std::string dhchap_ctrl_secret;

  // TLS 1.3 with a pre-shared key before ICReq (NVMe/TCP TP 8011, transport/tls.hpp).
  // tls_key: the configured PSK, "NVMeTLSkey-1:HH:<base64>:" (as nvme-cli
  // --tls_key; sent as a version 1 identity with PSK digest). Never logged.
  bool tls = false;
  std::string tls_key;

  uint32_t connect_timeout_ms = 10000;  // TCP connect + ICReq + Connect + enable
  uint32_t admin_timeout_ms = 60000;    // nvme_core admin_timeout
  uint32_t io_timeout_ms = 30000;       // nvme_core io_timeout

  bool trace = false;  // log every PDU / command (-o debug)

  // Internal (tests): the unit of reconnect_delay, ctrl_loss_tmo and
  // fast_io_fail_tmo in milliseconds, so tests can run them sub-second.
  uint32_t recovery_unit_ms = 1000;
};

}  // namespace nvmefs::host
