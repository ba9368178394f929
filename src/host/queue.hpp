// One NVMe queue of a controller (admin or I/O) on top of a transport queue
// pair: a preallocated array of command slots (CID = slot index), a free list,
// an intrusive FIFO of IoRequests waiting for a slot, and per-slot deadlines
// the controller's timer checks. Nothing on the I/O path allocates.
//
// Threads: issue()/submit_io() run on any thread; completions and the
// "broken" report run on the transport's receive thread, which also resumes
// waiting requests. mu_ guards slots, the free list, the FIFO, the state
// flags and the transport pointer; it is never held while sending or while
// calling a completion.
//
// Surviving a lost connection (the controller decides, see controller_impl):
// a Queue outlives its transport. While the controller *holds* I/O
// (set_hold(true)), a broken connection parks every I/O command in its slot
// (SQE, data and owner kept; deadline kParked) and new requests wait in the
// FIFO; attach() gives the queue a new connection (controller commands such
// as Connect can then be issued), open_io() re-sends the parked commands and
// resumes the FIFO. set_hold(false, err) fails everything parked or waiting
// with err, and every later request at once, until the next open_io().
// Commands sent with issue() (admin, Connect, Keep Alive) are never parked:
// they fail with the transport's error.
//
// Reserved slots (the Linux host's NVMF_RESERVED_TAGS): the last nr_reserved
// slots of a queue are only ever taken by issue(..., SlotPool::Reserved), for
// the commands a queue needs to come back or stay up (Fabrics Connect and
// DH-HMAC-CHAP on every queue, Keep Alive on the admin queue). I/O parked for
// a re-send can occupy every regular slot; a reconnect still finds a slot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nvmefs/block_device.hpp"
#include "nvmefs/transport/queue_pair.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

// Monotonic milliseconds, the unit of slot deadlines.
inline uint64_t now_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

struct Slot;
// Called once per command, after its slot was freed: err is 0 or -errno; cqe
// is null when the command never completed (connection broken, timeout).
using SlotDone = void (*)(void* ctx, int err, const wire::Cqe* cqe);

// Deadline of a parked slot: occupied, not on the wire, never expires.
inline constexpr uint64_t kParked = UINT64_MAX;

// Which free list issue() takes a slot from (see the header comment).
enum class SlotPool : uint8_t { Regular, Reserved };

struct Slot {
  uint16_t cid = 0;
  bool reserved = false;      // belongs to the reserved pool (fixed at construction)
  std::atomic<uint64_t> deadline_ms{0};  // 0 = free, kParked = waiting for a new connection
  Slot* next_free = nullptr;
  SlotDone done = nullptr;
  void* ctx = nullptr;        // owner of the command (IoRequest, waiter, controller)
  nvme_dsm_range dsm{};       // data of a Deallocate command
  wire::Sqe sqe;              // as sent (for the trace and for a re-send after reconnect)
  void* data = nullptr;       // the command's data, kept for a re-send
  uint32_t len = 0;
  transport::DataDir dir = transport::DataDir::None;
  bool io = false;            // an IoRequest piece (parked on a broken connection), not a controller command
  uint8_t resends = 0;        // times re-sent after a reconnect (bounded by kMaxResends)
};

// A command re-sent this often without completing fails with -EIO (the Linux
// host's nvme_max_retries): one the controller cannot finish, or that takes
// the connection down each time, must not loop forever.
inline constexpr uint8_t kMaxResends = 5;

// One command of an IoRequest, produced by its splitter (the Namespace).
struct IoPiece {
  wire::Sqe sqe;
  void* data = nullptr;
  uint32_t len = 0;
  transport::DataDir dir = transport::DataDir::None;
};

// Cuts IoRequests into commands. req->exec_ points to the splitter.
class IoSplitter {
 public:
  virtual ~IoSplitter() = default;
  // Fills the next command of `req` (dsm: storage for DSM range data) and
  // advances req->cursor_; false when everything was dispatched.
  virtual bool next_piece(IoRequest* req, nvme_dsm_range& dsm, IoPiece& piece) = 0;
};

class Queue final : public transport::QueueEvents {
 public:
  // on_broken is called (on the receive thread) once the connection is gone,
  // after every command of this queue was completed with an error or parked.
  // qp may be null: the queue waits for attach(). nr_reserved of the nr_slots
  // slots (CIDs nr_slots-nr_reserved .. nr_slots-1) form the reserved pool;
  // nr_reserved < nr_slots.
  Queue(uint16_t qid, uint16_t nr_slots, std::unique_ptr<transport::QueuePair> qp, uint32_t timeout_ms, bool trace,
        std::function<void(Queue&, int, const std::string&)> on_broken, uint16_t nr_reserved = 0);
  ~Queue() override;

  uint16_t qid() const { return qid_; }
  void start() { qp_->start(this); }

  // Recovery (controller's recovery thread only; see the header comment).
  // attach: the previous transport must be broken and closed (close()).
  void attach(std::unique_ptr<transport::QueuePair> qp);
  void open_io();
  void set_hold(bool hold, int err);

  // Sends one command; `done(slot, ...)` runs exactly once when it returns 0.
  // -EAGAIN: no free slot in `pool`; -ENOTCONN: the queue is down. timeout_ms 0 = the queue's default.
  int issue(const wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir, SlotDone done, void* ctx,
            uint32_t timeout_ms = 0, SlotPool pool = SlotPool::Regular);

  // Dispatches an IoRequest (req->exec_ = its IoSplitter, pending_ = 1 set by
  // the caller as the dispatch guard). Never blocks for I/O: when slots run
  // out the request waits in the FIFO and the completion path resumes it.
  void submit_io(IoRequest* req);

  // The earliest-expired command, if its deadline passed (for the timer).
  bool has_expired(uint64_t now) const;
  // Breaks the connection; commands complete with `err` (or are parked).
  void abort(int err, const std::string& why);
  // Breaks and closes the transport (joins its receive thread); not from a receive thread.
  void close();
  // Connected: commands can be issued (I/O may still be parked).
  bool live() const { return connected_.load(); }

 private:
  void on_completion(const wire::Cqe& cqe) override;
  void on_broken(int err, const std::string& why) override;

  Slot* take_slot(SlotPool pool = SlotPool::Regular);  // under mu_
  void release_slot(Slot* s);    // under mu_
  // Sends pieces of `req` while slots last; queues it (at the front when
  // `resumed`) when they run out.
  void dispatch(IoRequest* req, bool resumed);
  void enqueue_waiting(IoRequest* req, bool at_front);  // under mu_
  // Sends s on qp (captured under mu_ with senders_ raised); drops senders_.
  void send(transport::QueuePair* qp, Slot* s);
  void resume_waiting();
  void fill(Slot* s, const wire::Sqe& sqe, SlotDone done, void* ctx, uint32_t timeout_ms);  // under mu_
  // Completes `slots` (taken out under mu_) and the FIFO chain `waiting` with err.
  void fail(std::vector<Slot*>& slots, IoRequest* waiting, int err);
  IoRequest* take_waiting();  // under mu_

  const uint16_t qid_;
  std::mutex qp_mu_;  // serialises abort()/close() with attach() (lock order: qp_mu_, then mu_)
  std::unique_ptr<transport::QueuePair> qp_;
  const uint32_t timeout_ms_;
  const bool trace_;
  std::function<void(Queue&, int, const std::string&)> on_broken_;
  std::vector<Slot> slots_;

  mutable std::mutex mu_;
  Slot* free_ = nullptr;            // regular slots (I/O and admin commands)
  Slot* reserved_free_ = nullptr;   // reserved slots (Connect, authentication, Keep Alive)
  IoRequest* wait_head_ = nullptr;  // FIFO of requests waiting for slots (linked by next_)
  IoRequest* wait_tail_ = nullptr;
  std::atomic<bool> connected_{false};  // transport up: issue() works
  bool io_open_ = true;                 // I/O requests may take slots
  bool hold_ = false;                   // connection lost: park I/O (true) or fail it with down_err_
  int down_err_ = -ENOTCONN;
  std::atomic<int> senders_{0};         // threads between taking a slot and send_command returning
};

// Completion of one piece of an IoRequest; completes the request when it was
// the last one (first error wins).
void finish_io_piece(IoRequest* req, int err, uint16_t status);

}  // namespace nvmefs::host
