#include "queue.hpp"

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
             bool trace, std::function<void(Queue&, int, const std::string&)> on_broken)
    : qid_(qid), qp_(std::move(qp)), timeout_ms_(timeout_ms), trace_(trace), on_broken_(std::move(on_broken)),
      slots_(nr_slots) {
  for (uint16_t i = nr_slots; i-- > 0;) {
    slots_[i].cid = i;
    slots_[i].next_free = free_;
    free_ = &slots_[i];
  }
}

Queue::~Queue() { close(); }

Slot* Queue::take_slot() {
  Slot* s = free_;
  if (s) free_ = s->next_free;
  return s;
}

void Queue::release_slot(Slot* s) {
  s->deadline_ms.store(0, std::memory_order_relaxed);
  s->next_free = free_;
  free_ = s;
}

void Queue::fill(Slot* s, const wire::Sqe& sqe, SlotDone done, void* ctx, uint32_t timeout_ms) {
  s->sqe = sqe;
  s->sqe.set_cid(s->cid);
  s->done = done;
  s->ctx = ctx;
  s->deadline_ms.store(now_ms() + (timeout_ms ? timeout_ms : timeout_ms_), std::memory_order_relaxed);
}

void Queue::send(Slot* s, void* data, uint32_t len, transport::DataDir dir) {
  if (trace_) trace_command_sent(qid_, s->sqe, len);
  // Once the slot was taken while live, the command completes through
  // on_completion or on_broken, whatever send_command returns (see queue_pair.hpp).
  if (int r = qp_->send_command(s->sqe, data, len, dir); r == -EINVAL) {
    log::error("qid {}: command cid {} rejected by the transport (data length {})", qid_, s->cid, len);
    qp_->abort(-EIO, "invalid command");
  }
}

int Queue::issue(const wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir, SlotDone done, void* ctx,
                 uint32_t timeout_ms) {
  Slot* s;
  {
    std::lock_guard lk(mu_);
    if (!live_) return -ENOTCONN;
    s = take_slot();
    if (!s) return -EAGAIN;
    fill(s, sqe, done, ctx, timeout_ms);
  }
  send(s, data, len, dir);
  return 0;
}

void Queue::submit_io(IoRequest* req) {
  {
    std::lock_guard lk(mu_);
    if (live_ && wait_head_) {  // keep FIFO order behind requests already waiting
      req->next_ = nullptr;
      wait_tail_->next_ = req;
      wait_tail_ = req;
      return;
    }
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

void Queue::dispatch(IoRequest* req, bool resumed) {
  auto* splitter = static_cast<IoSplitter*>(req->exec_);
  int err = 0;
  for (;;) {
    Slot* s = nullptr;
    IoPiece piece;
    {
      std::lock_guard lk(mu_);
      if (!live_) {
        err = -ENOTCONN;
        break;
      }
      s = take_slot();
      if (!s) {  // a completion resumes it (resume_waiting)
        enqueue_waiting(req, resumed);
        return;
      }
      if (!splitter->next_piece(req, s->dsm, piece)) {
        release_slot(s);
        break;
      }
      req->pending_.fetch_add(1, std::memory_order_acq_rel);
      fill(s, piece.sqe, io_piece_done, req, 0);
    }
    send(s, piece.data, piece.len, piece.dir);
  }
  finish_io_piece(req, err, 0);  // drops the dispatch guard
}

void Queue::resume_waiting() {
  for (;;) {
    IoRequest* req;
    {
      std::lock_guard lk(mu_);
      if (!wait_head_ || !free_ || !live_) return;
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

void Queue::on_broken(int err, const std::string& why) {
  IoRequest* waiting;
  {
    std::lock_guard lk(mu_);
    live_ = false;  // no slot is taken from now on
    waiting = wait_head_;
    wait_head_ = wait_tail_ = nullptr;
  }
  log::debug("qid {}: connection broken: {}", qid_, why);
  // Every command in flight ends here. A later reconnect could re-queue them
  // instead: the slots keep their SQEs and owners.
  for (Slot& s : slots_) {
    if (s.deadline_ms.load(std::memory_order_relaxed) == 0) continue;
    if (trace_) trace_command_done(qid_, s.sqe, err, nullptr);
    const SlotDone done = s.done;
    void* ctx = s.ctx;
    {
      std::lock_guard lk(mu_);
      release_slot(&s);
    }
    done(ctx, err, nullptr);
  }
  while (waiting) {
    IoRequest* next = waiting->next_;
    finish_io_piece(waiting, err, 0);  // its dispatch guard
    waiting = next;
  }
  if (on_broken_) on_broken_(*this, err, why);
}

bool Queue::has_expired(uint64_t now) const {
  for (const Slot& s : slots_) {
    const uint64_t d = s.deadline_ms.load(std::memory_order_relaxed);
    if (d != 0 && d <= now) return true;
  }
  return false;
}

}  // namespace nvmefs::host
