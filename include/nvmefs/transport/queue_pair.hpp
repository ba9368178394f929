// The transport seen from the host layer: one queue pair (an SQ/CQ pair of
// an NVMe-oF controller carried over one connection). TCP implements it
// today (tcp.hpp); RDMA fits the same shape later.
//
// Rules of the interface:
//  * The upper layer owns command identifiers: a CID is an index below
//    `nr_cids` that it does not reuse before that command completed.
//  * send_command() sends from the calling thread and never waits for a
//    completion; the data buffer must stay valid until the completion.
//  * Completions and "connection broken" are delivered to QueueEvents on the
//    transport's own receive thread. on_broken() is called exactly once,
//    after which no completion is delivered and send_command() fails with
//    -ENOTCONN without touching any buffer. The transport decides nothing
//    else: what to do about a broken connection is the controller's job.
#pragma once

#include <cstdint>
#include <string>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::transport {

enum class DataDir : uint8_t { None, ToController, FromController };

class QueueEvents {
 public:
  virtual ~QueueEvents() = default;
  // A completion for a command this queue pair sent. The CID has been checked
  // against the commands in flight.
  virtual void on_completion(const wire::Cqe& cqe) = 0;
  // The connection is gone: err is -ENOTCONN, -ETIMEDOUT, -EPROTO, ...;
  // `why` is one line for the log ("controller closed the connection").
  virtual void on_broken(int err, const std::string& why) = 0;
};

class QueuePair {
 public:
  virtual ~QueuePair() = default;

  // Starts delivering completions to `events` (starts the receive thread).
  virtual void start(QueueEvents* events) = 0;

  // Sends one command capsule; fills the data pointer (SGL) of `sqe` and sends
  // or arranges the data transfer. Returns 0 or -errno (-ENOTCONN once broken).
  virtual int send_command(wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) = 0;

  // Breaks the connection on purpose (timeout, controller teardown). The
  // receive thread then reports on_broken(err, why), unless it already broke.
  virtual void abort(int err, const std::string& why) = 0;

  // Stops the receive thread and closes the connection. on_broken() has been
  // delivered when this returns (if start() was called). Idempotent.
  virtual void close() = 0;

  // Largest data length that goes in-capsule for host-to-controller data.
  virtual void set_max_inline_data(uint32_t bytes) = 0;

  // Negotiated at connect time.
  virtual bool header_digest() const = 0;
  virtual bool data_digest() const = 0;
  virtual uint32_t max_h2c_data() const = 0;  // 0 when the transport has no such limit
};

}  // namespace nvmefs::transport
