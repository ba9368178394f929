// The controller's state machine (controller_recovery.cpp) over fake queue
// pairs that break on demand: held I/O is re-sent after a reconnect,
// fast_io_fail_tmo and ctrl_loss_tmo fail it with -EIO at their times,
// disconnect() is prompt while reconnecting forever, reconnect() revives a
// dead controller. Option "seconds" are 100 ms here (recovery_unit_ms).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "controller_impl.hpp"
#include "fake_controller.hpp"

using namespace nvmefs;
using namespace nvmefs::host;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct Rig {
  test::FakeController fake;
  std::unique_ptr<ControllerImpl> ctrl;
  std::shared_ptr<Namespace> ns;

  explicit Rig(void (*tune)(ConnectOptions&) = nullptr) {
    ConnectOptions o = fake.options();
    if (tune) tune(o);
    ctrl = std::make_unique<ControllerImpl>(o, false);
    ctrl->set_transport_factory([this](const transport::TcpParams& p, uint32_t) { return fake.connect(p); });
    ctrl->bring_up();
    ns = ctrl->ns(1);
    REQUIRE(ns);
  }
  // Target gone: connections break, reconnects are refused.
  void target_down() {
    {
      std::lock_guard lk(fake.mu);
      fake.refuse = true;
    }
    fake.break_all();
    REQUIRE(wait_for([&] { return ctrl->state() != ControllerState::Live; }, 2s));
  }
  void target_up() {
    std::lock_guard lk(fake.mu);
    fake.refuse = false;
    fake.stall_io = false;
  }
  template <typename P>
  static bool wait_for(P pred, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (!pred()) {
      if (Clock::now() > end) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
};

// Asynchronous requests with their own buffers; records results and when they completed.
struct Batch {
  struct Op {
    IoRequest req;
    std::vector<uint8_t> buf;
    std::atomic<bool> done{false};
    Clock::time_point at;
  };
  std::vector<std::unique_ptr<Op>> ops;

  static void on_done(IoRequest* r) {
    auto* op = static_cast<Op*>(r->user);
    op->at = Clock::now();
    op->done.store(true);
  }
  Op& add(BlockDevice& dev, IoOp kind, uint64_t offset, uint8_t fill) {
    auto op = std::make_unique<Op>();
    op->buf.assign(4096, fill);
    op->req.op = kind;
    op->req.offset = offset;
    op->req.length = op->buf.size();
    op->req.buf = op->buf.data();
    op->req.done = on_done;
    op->req.user = op.get();
    ops.push_back(std::move(op));
    dev.submit(&ops.back()->req);
    return *ops.back();
  }
  size_t completed() const {
    size_t n = 0;
    for (auto& o : ops) n += o->done.load();
    return n;
  }
  bool wait_all(std::chrono::milliseconds limit) {
    return Rig::wait_for([&] { return completed() == ops.size(); }, limit);
  }
};

}  // namespace

TEST_CASE("I/O in flight and I/O submitted while reconnecting is re-sent and completes after the reconnect") {
  Rig rig;
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.stall_io = true;  // these writes are on the wire when the connection drops
  }
  Batch batch;
  for (int i = 0; i < 8; ++i) batch.add(*rig.ns, IoOp::Write, uint64_t(i) * 4096, uint8_t(0xA0 + i));
  REQUIRE(Rig::wait_for([&] { return batch.completed() == 0; }, 100ms));
  rig.target_down();
  CHECK(rig.ctrl->state() == ControllerState::Connecting);
  for (int i = 8; i < 12; ++i) batch.add(*rig.ns, IoOp::Write, uint64_t(i) * 4096, uint8_t(0xA0 + i));
  std::this_thread::sleep_for(300ms);  // several refused attempts
  CHECK(batch.completed() == 0);       // held, not failed
  CHECK(rig.ctrl->stats().reconnect_attempts >= 2);
  rig.target_up();
  REQUIRE(batch.wait_all(3s));
  for (auto& op : batch.ops) CHECK(op->req.result == 0);
  CHECK(rig.ctrl->state() == ControllerState::Live);
  const auto st = rig.ctrl->stats();
  CHECK(st.reconnects == 1);
  CHECK(st.last_recovery_ms > 0);
  CHECK(rig.fake.connects == 2);
  // Every write reached the media, and reads see it over the new connection.
  std::vector<uint8_t> back(12 * 4096);
  REQUIRE(submit_and_wait(*rig.ns, IoOp::Read, 0, back.size(), back.data()) == 0);
  for (int i = 0; i < 12; ++i) CHECK(back[size_t(i) * 4096 + 17] == uint8_t(0xA0 + i));
}

TEST_CASE("a command timeout tears the connection down and the command is re-sent on the new one") {
  Rig rig([](ConnectOptions& o) { o.io_timeout_ms = 300; });
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.stall_io = true;
  }
  Batch batch;
  auto& op = batch.add(*rig.ns, IoOp::Read, 0, 0);
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->stats().reconnects >= 1; }, 2s));
  CHECK(rig.ctrl->stats().last_error.find("timed out") != std::string::npos);
  CHECK_FALSE(op.done.load());  // re-sent, not failed
  rig.target_up();
  REQUIRE(batch.wait_all(3s));
  CHECK(op.req.result == 0);
}

TEST_CASE("a command that times out on every connection fails with -EIO after a bounded number of re-sends") {
  Rig rig([](ConnectOptions& o) { o.io_timeout_ms = 100; });
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.stall_io = true;  // never answered
  }
  Batch batch;
  auto& op = batch.add(*rig.ns, IoOp::Read, 0, 0);
  REQUIRE(batch.wait_all(5s));
  CHECK(op.req.result == -EIO);
  CHECK(rig.ctrl->stats().reconnects == kMaxResends + 1);
}

TEST_CASE("fast_io_fail_tmo fails held I/O with -EIO while reconnecting goes on") {
  Rig rig([](ConnectOptions& o) {
    o.fast_io_fail_tmo = 3;  // 300 ms
    o.ctrl_loss_tmo = 100;   // 10 s
  });
  rig.target_down();
  const auto lost = Clock::now();
  Batch batch;
  auto& held = batch.add(*rig.ns, IoOp::Read, 0, 0);
  std::this_thread::sleep_for(150ms);
  CHECK_FALSE(held.done.load());
  REQUIRE(batch.wait_all(2s));
  CHECK(held.req.result == -EIO);
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(held.at - lost).count();
  CHECK(after >= 250);
  CHECK(after < 800);
  CHECK(rig.ctrl->state() == ControllerState::Connecting);
  std::vector<uint8_t> buf(4096);
  CHECK(submit_and_wait(*rig.ns, IoOp::Read, 0, 4096, buf.data()) == -EIO);  // at once
  rig.target_up();
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->live(); }, 2s));
  CHECK(submit_and_wait(*rig.ns, IoOp::Read, 0, 4096, buf.data()) == 0);
}

TEST_CASE("after ctrl_loss_tmo the controller is dead: I/O fails with -EIO at once; reconnect() revives it") {
  Rig rig([](ConnectOptions& o) { o.ctrl_loss_tmo = 4; });  // 400 ms
  rig.target_down();
  const auto lost = Clock::now();
  Batch batch;
  auto& held = batch.add(*rig.ns, IoOp::Write, 0, 0x55);
  REQUIRE(batch.wait_all(3s));
  CHECK(held.req.result == -EIO);
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(held.at - lost).count();
  CHECK(after >= 350);
  CHECK(after < 1000);
  CHECK(rig.ctrl->state() == ControllerState::Dead);
  CHECK(rig.ctrl->namespaces().size() == 1);  // the objects stay
  std::vector<uint8_t> buf(4096);
  const auto t0 = Clock::now();
  CHECK(submit_and_wait(*rig.ns, IoOp::Read, 0, 4096, buf.data()) == -EIO);
  CHECK(Clock::now() - t0 < 50ms);
  const uint64_t attempts = rig.ctrl->stats().reconnect_attempts;
  std::this_thread::sleep_for(300ms);
  CHECK(rig.ctrl->stats().reconnect_attempts == attempts);  // a dead controller does not retry

  rig.target_up();
  rig.ctrl->reconnect();
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->live(); }, 2s));
  CHECK(submit_and_wait(*rig.ns, IoOp::Read, 0, 4096, buf.data()) == 0);
}

TEST_CASE("disconnect while reconnecting forever returns promptly and fails held I/O") {
  Rig rig([](ConnectOptions& o) { o.ctrl_loss_tmo = -1; });
  rig.target_down();
  Batch batch;
  auto& held = batch.add(*rig.ns, IoOp::Read, 0, 0);
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(held.done.load());
  const auto t0 = Clock::now();
  rig.ctrl->disconnect();
  CHECK(Clock::now() - t0 < 1s);
  CHECK(rig.ctrl->state() == ControllerState::Deleting);
  REQUIRE(batch.wait_all(1s));
  CHECK(held.req.result == -ENOTCONN);
}

TEST_CASE("the observer sees the state changes of an outage") {
  struct Recorder : ControllerObserver {
    std::mutex mu;
    std::vector<ControllerState> seen;
    void on_state_change(ControllerState s) override {
      std::lock_guard lk(mu);
      seen.push_back(s);
    }
  };
  Rig rig;
  auto rec = std::make_shared<Recorder>();
  rig.ctrl->set_observer(rec);
  rig.target_down();
  rig.target_up();
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->live(); }, 2s));
  // The Live notification follows the state change: wait for it too.
  REQUIRE(Rig::wait_for(
      [&] {
        std::lock_guard lk(rec->mu);
        return rec->seen.size() >= 2 && rec->seen.back() == ControllerState::Live;
      },
      2s));
  std::lock_guard lk(rec->mu);
  CHECK(rec->seen.front() == ControllerState::Connecting);
  CHECK(rec->seen.back() == ControllerState::Live);
}

TEST_CASE("a reconnect succeeds while parked I/O fills every regular slot: Connect uses the reserved slot") {
  Rig rig([](ConnectOptions& o) {
    o.nr_io_queues = 1;  // every request on the one queue
    o.queue_size = 8;    // 7 slots: 6 for I/O, 1 reserved for Connect/authentication
    o.ctrl_loss_tmo = 30;  // 3 s: a reconnect that cannot get a slot gives up by then
  });
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.stall_io = true;
  }
  Batch batch;
  constexpr int kWrites = 20;  // more than the queue's slots: the rest waits in the FIFO
  for (int i = 0; i < kWrites; ++i) batch.add(*rig.ns, IoOp::Write, uint64_t(i) * 4096, uint8_t(0x30 + i));
  REQUIRE(Rig::wait_for([&] { return batch.completed() == 0; }, 100ms));
  // The connection breaks with every I/O slot taken (parked for a re-send);
  // the target itself stays reachable and answers again.
  rig.fake.break_all();
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->stats().reconnect_attempts >= 1; }, 2s));
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.stall_io = false;
  }
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->stats().reconnects >= 1; }, 3s));
  REQUIRE(batch.wait_all(3s));
  for (auto& op : batch.ops) CHECK(op->req.result == 0);
  CHECK(rig.ctrl->state() == ControllerState::Live);
  CHECK(rig.ctrl->stats().reconnect_attempts == rig.ctrl->stats().reconnects);  // the first attempt succeeded
  std::vector<uint8_t> back(kWrites * 4096);
  REQUIRE(submit_and_wait(*rig.ns, IoOp::Read, 0, back.size(), back.data()) == 0);
  for (int i = 0; i < kWrites; ++i) CHECK(back[size_t(i) * 4096 + 100] == uint8_t(0x30 + i));
}

TEST_CASE("a target that stops answering is detected by Keep Alive within about 1.5 x KATO") {
  Rig rig([](ConnectOptions& o) {
    o.keep_alive_tmo = 1;  // KATO 1 s (not scaled by recovery_unit_ms)
    o.io_timeout_ms = 30000;
    o.admin_timeout_ms = 30000;  // only Keep Alive can notice
    o.ctrl_loss_tmo = 600;
  });
  // Keep Alive runs while the target answers.
  REQUIRE(Rig::wait_for([&] { std::lock_guard lk(rig.fake.mu); return rig.fake.keep_alives >= 2; }, 3s));
  CHECK(rig.ctrl->live());
  const auto frozen_at = Clock::now();
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.frozen = true;  // TCP up, nothing answers
  }
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->state() != ControllerState::Live; }, 5s));
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - frozen_at).count();
  MESSAGE("loss detected " << after << " ms after the target froze (KATO 1000 ms)");
  CHECK(after >= 400);    // not before a Keep Alive had its KATO to answer (sent at most KATO/2 before the freeze)
  CHECK(after < 2500);    // 1.5 x KATO plus timer ticks, far below the 30 s command timeouts
  CHECK(rig.ctrl->state() == ControllerState::Connecting);
  CHECK(rig.ctrl->stats().last_error.find("Keep Alive") != std::string::npos);
  {
    std::lock_guard lk(rig.fake.mu);
    rig.fake.frozen = false;
  }
  REQUIRE(Rig::wait_for([&] { return rig.ctrl->live(); }, 5s));  // the held Connect is answered now
}
