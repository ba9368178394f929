#include "queue.hpp"

#include <algorithm>
#include <thread>

#include <fmt/core.h>

#include "nvmefs/common/log.hpp"
#include "trace.hpp"

namespace nvmefs::host {

void finish_io_piece(IoRequest* req, int err, uint16_t status) {
  if (err != 0) {
    int expected = 0;
    if (req->first_error_.compare_exchange_strong(expected, err)) req->first_status_ = status;
  }
  if (req->pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    req->result = req->first_error_.load(std::memory_order_relaxed);
    req->nvme_status = req->first_status_;
    req->done(req);
  }
}

namespace {
// NVMe status to errno for block I/O (nvme_status keeps the detail).
int io_errno(uint16_t status) {
  constexpr uint16_t kNamespaceWriteProtected = 0x0020;
  return (status & 0x7FF) == kNamespaceWriteProtected ? -EROFS : -EIO;
}

void io_piece_done(void* ctx, int err, const wire::Cqe* cqe) {
  uint16_t status = cqe ? uint16_t(cqe->status() & 0x7FF) : 0;
  if (err == 0 && status != 0) err = io_errno(status);
  finish_io_piece(static_cast<IoRequest*>(ctx), err, status);
}
}  // namespace

Queue::Queue(uint16_t qid, uint16_t nr_slots, std::unique_ptr<transport::QueuePair> qp, uint32_t timeout_ms,
             bool trace, std::function<void(Queue&, int, const std::string&)> on_broken, uint16_t nr_reserved)
    : qid_(qid), qp_(std::move(qp)), timeout_ms_(timeout_ms), trace_(trace), on_broken_(std::move(on_broken)),
      slots_(nr_slots) {
  const uint16_t first_reserved = uint16_t(nr_slots - std::min(nr_reserved, nr_slots));
  for (uint16_t i = nr_slots; i-- > 0;) {
    Slot& s = slots_[i];
    s.cid = i;
    s.reserved = i >= first_reserved;
    Slot*& list = s.reserved ? reserved_free_ : free_;
    s.next_free = list;
    list = &s;
  }
  connected_ = qp_ != nullptr;
}

Queue::~Queue() { close(); }

Slot* Queue::take_slot(SlotPool pool) {
  Slot*& list = pool == SlotPool::Reserved ? reserved_free_ : free_;
  Slot* s = list;
  if (s) list = s->next_free;
  return s;
}

void Queue::release_slot(Slot* s) {
  s->deadline_ms.store(0, std::memory_order_relaxed);
  Slot*& list = s->reserved ? reserved_free_ : free_;
  s->next_free = list;
  list = s;
}

void Queue::fill(Slot* s, const wire::Sqe& sqe, SlotDone done, void* ctx, uint32_t timeout_ms) {
  s->sqe = sqe;
  s->sqe.set_cid(s->cid);
  s->done = done;
  s->ctx = ctx;
  s->resends = 0;
  s->deadline_ms.store(now_ms() + (timeout_ms ? timeout_ms : timeout_ms_), std::memory_order_relaxed);
  senders_.fetch_add(1, std::memory_order_acq_rel);
}

void Queue::send(transport::QueuePair* qp, Slot* s) {
  if (trace_) trace_command_sent(qid_, s->sqe, s->len);
  // Once the slot was taken while connected, the command completes through
  // on_completion or on_broken (or is parked there), whatever send_command
  // returns (see queue_pair.hpp).
  if (int r = qp->send_command(s->sqe, s->data, s->len, s->dir); r == -EINVAL) {
    log::error("qid {}: command cid {} rejected by the transport (data length {})", qid_, s->cid, s->len);
    qp->abort(-EIO, "invalid command");
  }
  senders_.fetch_sub(1, std::memory_order_acq_rel);
}

int Queue::issue(const wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir, SlotDone done, void* ctx,
                 uint32_t timeout_ms, SlotPool pool) {
  Slot* s;
  transport::QueuePair* qp;
  {
    std::lock_guard lk(mu_);
    if (!connected_) return -ENOTCONN;
    s = take_slot(pool);
    if (!s) return -EAGAIN;
    fill(s, sqe, done, ctx, timeout_ms);
    s->data = data;
    s->len = len;
    s->dir = dir;
    s->io = false;
    qp = qp_.get();
  }
  send(qp, s);
  return 0;
}

void Queue::submit_io(IoRequest* req) {
  int err = 0;
  {
    std::lock_guard lk(mu_);
    if (!io_open_ && !hold_) {
      err = down_err_;
    } else if (!io_open_ || wait_head_) {  // held for a reconnect, or FIFO order behind waiting requests
      enqueue_waiting(req, false);
      return;
    }
  }
  if (err) {
    finish_io_piece(req, err, 0);  // drops the dispatch guard
    return;
  }
  dispatch(req, false);
}

void Queue::enqueue_waiting(IoRequest* req, bool at_front) {
  req->next_ = nullptr;
  if (!wait_head_) {
    wait_head_ = wait_tail_ = req;
  } else if (at_front) {
    req->next_ = wait_head_;
    wait_head_ = req;
  } else {
    wait_tail_->next_ = req;
    wait_tail_ = req;
  }
}

IoRequest* Queue::take_waiting() {
  IoRequest* head = wait_head_;
  wait_head_ = wait_tail_ = nullptr;
  return head;
}

void Queue::dispatch(IoRequest* req, bool resumed) {
  auto* splitter = static_cast<IoSplitter*>(req->exec_);
  int err = 0;
  for (;;) {
    Slot* s = nullptr;
    transport::QueuePair* qp;
    {
      std::lock_guard lk(mu_);
      if (!io_open_ && !hold_) {
        err = down_err_;
        break;
      }
      s = io_open_ ? take_slot() : nullptr;
      if (!s) {  // a completion (or open_io after a reconnect) resumes it
        enqueue_waiting(req, resumed);
        return;
      }
      IoPiece piece;
      if (!splitter->next_piece(req, s->dsm, piece)) {
        release_slot(s);
        break;
      }
      req->pending_.fetch_add(1, std::memory_order_acq_rel);
      fill(s, piece.sqe, io_piece_done, req, 0);
      s->data = piece.data;
      s->len = piece.len;
      s->dir = piece.dir;
      s->io = true;
      qp = qp_.get();
    }
    send(qp, s);
  }
  finish_io_piece(req, err, 0);  // drops the dispatch guard
}

void Queue::resume_waiting() {
  for (;;) {
    IoRequest* req;
    {
      std::lock_guard lk(mu_);
      if (!wait_head_ || !free_ || !io_open_) return;
      req = wait_head_;
      wait_head_ = req->next_;
      if (!wait_head_) wait_tail_ = nullptr;
    }
    dispatch(req, true);
  }
}

void Queue::on_completion(const wire::Cqe& cqe) {
  Slot& s = slots_[cqe.cid()];  // the transport checked the CID is in flight
  if (trace_) trace_command_done(qid_, s.sqe, 0, &cqe);
  const SlotDone done = s.done;
  void* ctx = s.ctx;
  {
    std::lock_guard lk(mu_);
    release_slot(&s);
  }
  done(ctx, 0, &cqe);
  resume_waiting();
}

void Queue::fail(std::vector<Slot*>& slots, IoRequest* waiting, int err) {
  for (Slot* s : slots) {
    if (trace_) trace_command_done(qid_, s->sqe, err, nullptr);
    const SlotDone done = s->done;
    void* ctx = s->ctx;
    {
      std::lock_guard lk(mu_);
      release_slot(s);
    }
    done(ctx, err, nullptr);
  }
  while (waiting) {
    IoRequest* next = waiting->next_;
    finish_io_piece(waiting, err, 0);  // its dispatch guard
    waiting = next;
  }
}

void Queue::on_broken(int err, const std::string& why) {
  std::vector<Slot*> failed;
  IoRequest* waiting = nullptr;
  {
    std::lock_guard lk(mu_);
    connected_ = false;  // no slot is taken from now on
    io_open_ = false;
    for (Slot& s : slots_) {
      const uint64_t d = s.deadline_ms.load(std::memory_order_relaxed);
      if (d == 0 || d == kParked) continue;
      if (hold_ && s.io)
        s.deadline_ms.store(kParked, std::memory_order_relaxed);  // re-sent by open_io()
      else
        failed.push_back(&s);
    }
    if (!hold_) waiting = take_waiting();
  }
  log::debug("qid {}: connection broken: {}", qid_, why);
  fail(failed, waiting, err);
  if (on_broken_) on_broken_(*this, err, why);
}

void Queue::abort(int err, const std::string& why) {
  std::lock_guard lk(qp_mu_);
  if (qp_) qp_->abort(err, why);
}

void Queue::close() {
  std::lock_guard lk(qp_mu_);
  if (qp_) qp_->close();
}

void Queue::attach(std::unique_ptr<transport::QueuePair> qp) {
  std::unique_ptr<transport::QueuePair> old;
  std::lock_guard qlk(qp_mu_);
  std::unique_lock lk(mu_);
  // A thread that took a slot before the break may still be inside send() on
  // the old transport (which fails it with -ENOTCONN): let it leave first.
  while (senders_.load(std::memory_order_acquire) != 0) {
    lk.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    lk.lock();
  }
  old = std::move(qp_);
  qp_ = std::move(qp);
  connected_ = true;
  io_open_ = false;
  qp_->start(this);  // a break from here on waits for mu_, then sees the new connection
}

void Queue::open_io() {
  std::vector<Slot*> resend, given_up;
  transport::QueuePair* qp;
  {
    std::lock_guard lk(mu_);
    if (!connected_) return;
    io_open_ = true;
    for (Slot& s : slots_) {
      if (s.deadline_ms.load(std::memory_order_relaxed) != kParked) continue;
      if (++s.resends > kMaxResends) {
        given_up.push_back(&s);
        continue;
      }
      s.deadline_ms.store(now_ms() + timeout_ms_, std::memory_order_relaxed);
      senders_.fetch_add(1, std::memory_order_acq_rel);
      resend.push_back(&s);
    }
    qp = qp_.get();
  }
  // Re-sending a parked command on the new association is safe: nothing was
  // acknowledged to the caller for it, and the caller has no later command to
  // the same LBAs acknowledged either (the block cache keeps one write per
  // block in flight and FUSE answers a write only after it completed), so
  // executing a Write, Write Zeroes or Deallocate a second time leaves the
  // same media state as executing it once; Reads and Flushes have no side
  // effect to repeat. The old association is gone: a target tears down a
  // controller's queues (and their commands) before it accepts the new one.
  if (!resend.empty()) log::info("qid {}: re-sending {} command(s) after reconnect", qid_, resend.size());
  for (Slot* s : resend) send(qp, s);
  if (!given_up.empty())
    log::error("qid {}: {} command(s) failed after {} re-sends", qid_, given_up.size(), unsigned(kMaxResends));
  fail(given_up, nullptr, -EIO);
  resume_waiting();
}

void Queue::set_hold(bool hold, int err) {
  std::vector<Slot*> failed;
  IoRequest* waiting = nullptr;
  {
    std::lock_guard lk(mu_);
    hold_ = hold;
    down_err_ = err;
    if (!hold && !io_open_) {
      for (Slot& s : slots_)
        if (s.deadline_ms.load(std::memory_order_relaxed) == kParked) failed.push_back(&s);
      waiting = take_waiting();
    }
  }
  fail(failed, waiting, err);
}

bool Queue::has_expired(uint64_t now) const {
  for (const Slot& s : slots_) {
    const uint64_t d = s.deadline_ms.load(std::memory_order_relaxed);
    if (d != 0 && d <= now) return true;  // kParked never expires
  }
  return false;
}

}  // namespace nvmefs::host
