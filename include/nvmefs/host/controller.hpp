// The host side of one NVMe-oF controller: admin queue, I/O queues, keep-alive,
// namespaces. This is the public API of the initiator; the transport (TCP,
// later RDMA) is hidden behind it.
//
// Bring-up follows NVMe-oF 1.1 §3.3 / NVMe Base 2.0 §3.5.2: Connect (admin),
// Property Get CAP/VS, Property Set CC.EN, wait CSTS.RDY (CAP.TO), Identify
// Controller, Set Features Number of Queues, Identify active NS list + each
// namespace, Connect each I/O queue, start Keep Alive.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nvmefs/block_device.hpp"
#include "nvmefs/host/options.hpp"
#include "nvmefs/wire/discovery_log.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

struct ControllerInfo {
  nvme_id_ctrl id{};          // Identify Controller data, as the controller sent it
  uint64_t cap = 0;           // CAP property
  uint32_t vs = 0;            // VS property
  uint16_t cntlid = 0;
  std::string model, serial, firmware, subnqn;  // trimmed ASCII
  uint32_t mdts_bytes = 0;    // 0 = no limit reported
  uint32_t ioccsz_bytes = 0;  // in-capsule data the controller accepts on I/O queues
  uint32_t maxh2cdata = 0;    // from ICResp (TCP)
  uint16_t nr_io_queues = 0;  // I/O queues actually connected
  uint16_t queue_size = 0;    // entries per I/O queue
  uint32_t kato_ms = 0;
  bool header_digest = false, data_digest = false;
};

// A namespace of a connected controller, as a BlockDevice (byte offsets,
// LBA-aligned). Requests larger than MDTS are split transparently.
class Namespace : public BlockDevice {
 public:
  virtual uint32_t nsid() const = 0;
  virtual const nvme_id_ns& id() const = 0;
  virtual uint64_t nsze() const = 0;  // in LBAs
};

// Life of a controller after connect() (the Linux host's states, simplified):
//   Live       -- all queues up.
//   Connecting -- the connection was lost (a queue broke, a command or Keep
//                 Alive timed out): reconnecting every reconnect_delay s until
//                 ctrl_loss_tmo; I/O is held and re-sent once it is back
//                 (fails with -EIO after fast_io_fail_tmo, when set).
//   Dead       -- ctrl_loss_tmo passed: every request fails at once with -EIO;
//                 reconnect() starts over.
//   Deleting   -- disconnect() was called.
enum class ControllerState : uint8_t { Live, Connecting, Dead, Deleting };
const char* controller_state_name(ControllerState s);  // "live", "connecting", "dead", "deleting"

struct ControllerStats {
  ControllerState state = ControllerState::Live;
  uint64_t reconnects = 0;          // successful reconnects since connect()
  uint64_t reconnect_attempts = 0;  // attempts, successful or not
  std::string last_error;           // why the connection was last lost or the last attempt failed
  int64_t down_ms = 0;              // time since the connection was lost (0 when live)
  uint64_t last_recovery_ms = 0;    // loss-to-live time of the last successful reconnect
};

// A change of the controller's namespace set, seen after a reconnect or an
// Asynchronous Event (Namespace Attribute Changed).
struct NamespaceChange {
  enum class Kind : uint8_t { Added, Removed, Resized };
  Kind kind;
  uint32_t nsid = 0;
  uint64_t old_nsze = 0, new_nsze = 0;  // in LBAs (0 for added/removed respectively)
};

// Callbacks from the controller's recovery thread; they must not block for
// long nor call back into the controller's disconnect().
class ControllerObserver {
 public:
  virtual ~ControllerObserver() = default;
  virtual void on_state_change(ControllerState) {}
  virtual void on_namespace_change(const NamespaceChange&) {}
  // Asymmetric Namespace Access Change notice (NVMe Base 2.0 §5.2.1, info
  // 03h): the ANA log page changed. Called on a receive thread: only take
  // note (the log is read with an admin command, elsewhere).
  virtual void on_ana_change() {}
  // Discovery Log Page Change notice (NVMe Base 2.0 §5.2.1, info F0h) of a
  // persistent discovery controller: the discovery log changed. Called on a
  // receive thread: only take note (read the log elsewhere, RAE cleared).
  virtual void on_discovery_change() {}
};

class Controller {
 public:
  virtual ~Controller() = default;

  // Connects and brings the controller up. Throws nvmefs::Error with one
  // line for the user on failure (unreachable, refused, wrong NQN, timeout).
  static std::unique_ptr<Controller> connect(const ConnectOptions& opts);

  virtual const ControllerInfo& info() const = 0;
  virtual const ConnectOptions& options() const = 0;
  // Active namespaces in NSID order.
  virtual std::vector<std::shared_ptr<Namespace>> namespaces() const = 0;
  virtual std::shared_ptr<Namespace> ns(uint32_t nsid) const = 0;

  // Runs one admin command and waits (bounded by admin_timeout_ms). `data`
  // is read from (host to controller) or written to (controller to host)
  // depending on the opcode's data direction bits. Returns 0 or -errno;
  // *cqe gets the completion when non-null. NVMe errors give -EIO with the
  // status in cqe.
  virtual int admin_command(wire::Sqe sqe, void* data, uint32_t len, wire::Cqe* cqe = nullptr) = 0;

  // Orderly shutdown: CC.SHN, wait for CSTS.SHST, close queues. Idempotent;
  // the destructor calls it. In-flight commands complete with -ENOTCONN.
  virtual void disconnect() = 0;

  // Healthy (all queues up)? Same as state() == ControllerState::Live.
  virtual bool live() const = 0;

  virtual ControllerState state() const = 0;
  virtual ControllerStats stats() const = 0;

  // Brings a dead controller back: starts reconnecting now (state becomes
  // Connecting, ctrl_loss_tmo counts from now) and returns at once; a
  // Connecting controller tries again now. No effect when live or deleting.
  virtual void reconnect() = 0;

  // Replaces the observer (null: none). Held by the controller until replaced.
  virtual void set_observer(std::shared_ptr<ControllerObserver> observer) = 0;
};

// Connects to the discovery controller at `opts.target` (subnqn is replaced
// by the discovery NQN; an empty trsvcid means 8009), reads the whole
// discovery log (NVMe Base §5.16.1.23: re-read when GENCTR changed), and
// disconnects. Throws nvmefs::Error.
std::vector<wire::DiscoveryEntry> discover(const ConnectOptions& opts);

}  // namespace nvmefs::host
