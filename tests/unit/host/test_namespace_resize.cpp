// Namespace rescans after a Namespace Attribute Changed notice
// (controller_events.cpp): a resized namespace changes size in place (the
// object upper layers hold follows), a reformatted one (other LBA data size)
// is reported removed and added again as a new object.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "controller_impl.hpp"
#include "fake_controller.hpp"

using namespace nvmefs;
using namespace nvmefs::host;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct Recorder : ControllerObserver {
  std::mutex mu;
  std::vector<NamespaceChange> seen;
  void on_namespace_change(const NamespaceChange& c) override {
    std::lock_guard lk(mu);
    seen.push_back(c);
  }
  bool wait(size_t n) {
    const auto end = Clock::now() + 3s;
    while (Clock::now() < end) {
      {
        std::lock_guard lk(mu);
        if (seen.size() >= n) return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

struct ResizeRig {
  test::FakeController fake;
  std::unique_ptr<ControllerImpl> ctrl;
  std::shared_ptr<Recorder> rec = std::make_shared<Recorder>();

  ResizeRig() {
    ctrl = std::make_unique<ControllerImpl>(fake.options(), false);
    ctrl->set_transport_factory([this](const transport::TcpParams& p, uint32_t) { return fake.connect(p); });
    ctrl->bring_up();
    ctrl->set_observer(rec);
  }
  // The target changes namespace 1 and sends the notice.
  void change(uint64_t nsze, uint8_t lba_ds = test::FakeController::kLbaShift) {
    std::lock_guard lk(fake.mu);
    fake.nsze = nsze;
    fake.lba_ds = lba_ds;
    if (lba_ds == test::FakeController::kLbaShift && fake.media.size() < (nsze << lba_ds))
      fake.media.resize(nsze << lba_ds);
    fake.ns_changed = true;
  }
};

}  // namespace

TEST_CASE("a namespace that grows and shrinks on the target changes size in place") {
  ResizeRig rig;
  auto ns = rig.ctrl->ns(1);
  REQUIRE(ns);
  const uint64_t n0 = test::FakeController::kNsze;
  CHECK(ns->info().size_bytes == n0 << 9);

  rig.change(n0 * 2);  // grow
  REQUIRE(rig.rec->wait(1));
  CHECK(rig.ctrl->ns(1) == ns);  // the same object
  CHECK(ns->nsze() == n0 * 2);
  CHECK(ns->info().size_bytes == (n0 * 2) << 9);
  {
    std::lock_guard lk(rig.rec->mu);
    const auto& c = rig.rec->seen[0];
    CHECK(c.kind == NamespaceChange::Kind::Resized);
    CHECK(c.nsid == 1);
    CHECK(c.old_nsze == n0);
    CHECK(c.new_nsze == n0 * 2);
  }
  // The new range is usable at once.
  std::vector<uint8_t> buf(4096, 0x7E), back(4096);
  const uint64_t beyond_old = (n0 << 9) + 8192;
  REQUIRE(submit_and_wait(*ns, IoOp::Write, beyond_old, buf.size(), buf.data()) == 0);
  REQUIRE(submit_and_wait(*ns, IoOp::Read, beyond_old, back.size(), back.data()) == 0);
  CHECK(back == buf);

  rig.change(n0 / 2);  // shrink
  REQUIRE(rig.rec->wait(2));
  CHECK(ns->nsze() == n0 / 2);
  CHECK(ns->info().size_bytes == (n0 / 2) << 9);
  {
    std::lock_guard lk(rig.rec->mu);
    const auto& c = rig.rec->seen[1];
    CHECK(c.kind == NamespaceChange::Kind::Resized);
    CHECK(c.old_nsze == n0 * 2);
    CHECK(c.new_nsze == n0 / 2);
  }
  CHECK(submit_and_wait(*ns, IoOp::Read, (n0 / 2) << 9, 4096, back.data()) == -EINVAL);  // beyond the new end
  CHECK(submit_and_wait(*ns, IoOp::Read, 0, 4096, back.data()) == 0);
}

TEST_CASE("a namespace reformatted with another LBA size is removed and added as a new object") {
  ResizeRig rig;
  auto ns = rig.ctrl->ns(1);
  REQUIRE(ns);
  rig.change(test::FakeController::kNsze / 8, 12);  // 4 KiB LBAs, same bytes
  REQUIRE(rig.rec->wait(2));
  {
    std::lock_guard lk(rig.rec->mu);
    REQUIRE(rig.rec->seen.size() == 2);
    CHECK(rig.rec->seen[0].kind == NamespaceChange::Kind::Removed);
    CHECK(rig.rec->seen[1].kind == NamespaceChange::Kind::Added);
    CHECK(rig.rec->seen[1].new_nsze == test::FakeController::kNsze / 8);
  }
  auto fresh = rig.ctrl->ns(1);
  REQUIRE(fresh);
  CHECK(fresh != ns);
  CHECK(fresh->info().block_size == 4096);
  std::vector<uint8_t> buf(4096);
  CHECK(submit_and_wait(*ns, IoOp::Read, 0, 4096, buf.data()) == -ENODEV);  // the old object is gone
}
