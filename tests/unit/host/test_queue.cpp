// Queue (slots, waiting FIFO, deadlines) and Namespace (splitting) over a
// fake transport that records commands and completes them on demand.
#include <doctest/doctest.h>

#include <cstring>
#include <deque>

#include "namespace_impl.hpp"
#include "queue.hpp"

using namespace nvmefs;
using namespace nvmefs::host;

namespace {

struct Sent {
  wire::Sqe sqe;
  uint32_t len;
  std::vector<uint8_t> data;  // host-to-controller data as sent
};

class FakeQueuePair : public transport::QueuePair {
 public:
  std::deque<Sent> sent;
  transport::QueueEvents* events = nullptr;
  bool broken = false;

  void start(transport::QueueEvents* e) override { events = e; }
  int send_command(wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir) override {
    if (broken) return -ENOTCONN;
    Sent s{sqe, len, {}};
    if (dir == transport::DataDir::ToController) s.data.assign(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + len);
    sent.push_back(s);
    return 0;
  }
  void abort(int err, const std::string& why) override {
    if (broken) return;
    broken = true;
    events->on_broken(err, why);
  }
  void close() override { abort(-ENOTCONN, "closed"); }
  void set_max_inline_data(uint32_t) override {}
  bool header_digest() const override { return false; }
  bool data_digest() const override { return false; }
  uint32_t max_h2c_data() const override { return 0; }

  // Completes the oldest command sent.
  void complete_oldest(uint16_t status = 0) {
    Sent s = sent.front();
    sent.pop_front();
    wire::Cqe c;
    c.set_cid(s.sqe.cid());
    c.set_status(status);
    events->on_completion(c);
  }
};

struct Done {
  int calls = 0;
  static void cb(IoRequest* r) { static_cast<Done*>(r->user)->calls++; }
};

nvme_id_ns make_id_ns(uint64_t nsze) {
  nvme_id_ns id{};
  id.nsze = nsze;
  id.lbaf[0].ds = 9;  // 512-byte LBAs
  return id;
}

struct Rig {
  FakeQueuePair* qp;
  std::shared_ptr<IoQueues> queues = std::make_shared<IoQueues>();
  std::shared_ptr<NamespaceImpl> ns;
  Rig(uint16_t slots, uint32_t mdts) {
    auto fake = std::make_unique<FakeQueuePair>();
    qp = fake.get();
    queues->queues.push_back(std::make_unique<Queue>(1, slots, std::move(fake), 1000, false, nullptr));
    queues->queues[0]->start();
    queues->count = queues->active = 1;
    NamespaceLimits lim;
    lim.mdts_bytes = mdts;
    lim.write_zeroes = lim.dataset_management = true;
    ns = std::make_shared<NamespaceImpl>(1, make_id_ns(1ull << 32), lim, queues);
  }
  void req(IoRequest& r, IoOp op, uint64_t off, uint64_t len, void* buf, Done& d) {
    r.op = op;
    r.offset = off;
    r.length = len;
    r.buf = buf;
    r.done = Done::cb;
    r.user = &d;
  }
};

uint64_t slba(const wire::Sqe& s) { return uint64_t(s.cdw(10)) | (uint64_t(s.cdw(11)) << 32); }
uint32_t nlb(const wire::Sqe& s) { return (s.cdw(12) & 0xFFFF) + 1; }

}  // namespace

TEST_CASE("a read larger than MDTS is split into MDTS-sized commands at the right LBAs") {
  Rig rig(32, 4096);
  std::vector<uint8_t> buf(10240);
  Done d;
  IoRequest r;
  rig.req(r, IoOp::Read, 4096, buf.size(), buf.data(), d);
  rig.ns->submit(&r);
  REQUIRE(rig.qp->sent.size() == 3);
  CHECK(slba(rig.qp->sent[0].sqe) == 8);
  CHECK(nlb(rig.qp->sent[0].sqe) == 8);
  CHECK(slba(rig.qp->sent[2].sqe) == 24);
  CHECK(nlb(rig.qp->sent[2].sqe) == 4);
  CHECK(rig.qp->sent[2].len == 2048);
  for (int i = 0; i < 3; ++i) {
    CHECK(d.calls == 0);
    rig.qp->complete_oldest();
  }
  CHECK(d.calls == 1);
  CHECK(r.result == 0);
}

TEST_CASE("Write Zeroes splits at 65536 LBAs; Deallocate sends one DSM range; FUA is passed") {
  Rig rig(32, 0);
  Done d;
  IoRequest wz;
  rig.req(wz, IoOp::WriteZeroes, 0, (65536ull + 10) * 512, nullptr, d);
  rig.ns->submit(&wz);
  REQUIRE(rig.qp->sent.size() == 2);
  CHECK(nlb(rig.qp->sent[0].sqe) == 65536);
  CHECK(slba(rig.qp->sent[1].sqe) == 65536);
  CHECK(nlb(rig.qp->sent[1].sqe) == 10);
  rig.qp->complete_oldest();
  rig.qp->complete_oldest();

  IoRequest de;
  rig.req(de, IoOp::Deallocate, 512 * 100, 512 * 7, nullptr, d);
  rig.ns->submit(&de);
  REQUIRE(rig.qp->sent.size() == 1);
  const Sent& s = rig.qp->sent[0];
  CHECK(s.sqe.opcode() == nvme_cmd_dsm);
  REQUIRE(s.data.size() == 16);
  CHECK(wire::get_le32(s.data.data() + 4) == 7);    // nlb
  CHECK(wire::get_le64(s.data.data() + 8) == 100);  // slba
  rig.qp->complete_oldest();

  std::vector<uint8_t> buf(512, 1);
  IoRequest w;
  rig.req(w, IoOp::Write, 0, 512, buf.data(), d);
  w.flags = kIoFua;
  rig.ns->submit(&w);
  CHECK((rig.qp->sent[0].sqe.cdw(12) & (1u << 30)) != 0);
  rig.qp->complete_oldest();
  CHECK(d.calls == 3);
}

TEST_CASE("unaligned or out-of-range requests fail with -EINVAL without reaching the wire") {
  Rig rig(32, 0);
  uint8_t buf[1024];
  Done d;
  IoRequest r;
  rig.req(r, IoOp::Read, 100, 512, buf, d);
  rig.ns->submit(&r);
  CHECK(r.result == -EINVAL);
  IoRequest r2;
  rig.req(r2, IoOp::Read, rig.ns->info().size_bytes, 512, buf, d);
  rig.ns->submit(&r2);
  CHECK(r2.result == -EINVAL);
  CHECK(rig.qp->sent.empty());
  CHECK(d.calls == 2);
}

TEST_CASE("when the queue is full, requests wait in FIFO order and completions resume them") {
  Rig rig(2, 512);  // two slots, one LBA per command
  std::vector<uint8_t> buf(4096);
  Done da, db, dc;
  IoRequest a;
  rig.req(a, IoOp::Read, 0, 1536, buf.data(), da);  // 3 commands
  IoRequest b;
  rig.req(b, IoOp::Read, 8192, 512, buf.data(), db);
  IoRequest c;
  rig.req(c, IoOp::Read, 16384, 512, buf.data(), dc);
  rig.ns->submit(&a);
  rig.ns->submit(&b);
  rig.ns->submit(&c);
  REQUIRE(rig.qp->sent.size() == 2);  // a's first two pieces
  rig.qp->complete_oldest();          // frees a slot: a's third piece goes out
  REQUIRE(rig.qp->sent.size() == 2);
  CHECK(slba(rig.qp->sent[1].sqe) == 2);
  rig.qp->complete_oldest();
  CHECK(slba(rig.qp->sent[1].sqe) == 16);  // then b
  rig.qp->complete_oldest();
  CHECK(da.calls == 1);
  CHECK(slba(rig.qp->sent[1].sqe) == 32);  // then c
  rig.qp->complete_oldest();
  rig.qp->complete_oldest();
  CHECK(db.calls == 1);
  CHECK(dc.calls == 1);
  CHECK(rig.qp->sent.empty());
}

TEST_CASE("an NVMe error gives -EIO with the status; a broken connection fails in-flight and waiting requests") {
  Rig rig(1, 512);
  std::vector<uint8_t> buf(1024);
  Done da, db;
  IoRequest a;
  rig.req(a, IoOp::Read, 0, 512, buf.data(), da);
  rig.ns->submit(&a);
  rig.qp->complete_oldest(wire::status::kLbaOutOfRange);
  CHECK(a.result == -EIO);
  CHECK(a.nvme_status == wire::status::kLbaOutOfRange);

  IoRequest b;
  rig.req(b, IoOp::Read, 0, 1024, buf.data(), db);  // 2 commands, 1 slot
  IoRequest c;
  rig.req(c, IoOp::Read, 0, 512, buf.data(), da);
  rig.ns->submit(&b);
  rig.ns->submit(&c);
  rig.queues->queues[0]->abort(-ENOTCONN, "test");
  CHECK(db.calls == 1);
  CHECK(b.result == -ENOTCONN);
  CHECK(da.calls == 2);
  CHECK(c.result == -ENOTCONN);
  IoRequest late;
  rig.req(late, IoOp::Read, 0, 512, buf.data(), da);
  rig.ns->submit(&late);
  CHECK(late.result == -ENOTCONN);
}

TEST_CASE("a command past its deadline is found by has_expired and completes with -ETIMEDOUT") {
  auto fake = std::make_unique<FakeQueuePair>();
  Queue q(0, 4, std::move(fake), 1000, false, nullptr);
  q.start();
  int err = 1;
  auto done = [](void* ctx, int e, const wire::Cqe*) { *static_cast<int*>(ctx) = e; };
  REQUIRE(q.issue(wire::cmd::keep_alive(), nullptr, 0, transport::DataDir::None, done, &err, 20) == 0);
  CHECK_FALSE(q.has_expired(now_ms()));
  CHECK(q.has_expired(now_ms() + 25));
  q.abort(-ETIMEDOUT, "command timed out");  // what the controller's timer does
  CHECK(err == -ETIMEDOUT);
}
