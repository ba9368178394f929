// MultipathNamespace and the multipath controller over fake path controllers
// and namespaces: path selection per policy and ANA state, failover on path
// errors, holding while no path is usable, -EIO once every path is dead,
// and ANA log parsing.
#include <doctest/doctest.h>

#include <cstring>
#include <deque>

#include "multipath_ana.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/host/multipath.hpp"

using namespace nvmefs;
using namespace nvmefs::host;

namespace {

class FakeController final : public Controller {
 public:
  explicit FakeController(std::string subnqn = "nqn.test:mp") { info_.subnqn = std::move(subnqn); }
  const ControllerInfo& info() const override { return info_; }
  const ConnectOptions& options() const override { return opts_; }
  std::vector<std::shared_ptr<Namespace>> namespaces() const override { return namespaces_; }
  std::shared_ptr<Namespace> ns(uint32_t nsid) const override {
    for (auto& n : namespaces_)
      if (n->nsid() == nsid) return n;
    return nullptr;
  }
  int admin_command(wire::Sqe, void*, uint32_t, wire::Cqe*) override { return -EOPNOTSUPP; }
  void disconnect() override { state_ = ControllerState::Deleting; }
  bool live() const override { return state_ == ControllerState::Live; }
  ControllerState state() const override { return state_.load(); }
  ControllerStats stats() const override { return {}; }
  void reconnect() override {}
  void set_observer(std::shared_ptr<ControllerObserver> o) override { observer = std::move(o); }

  std::atomic<ControllerState> state_{ControllerState::Live};
  std::shared_ptr<ControllerObserver> observer;
  std::vector<std::shared_ptr<Namespace>> namespaces_;

 private:
  ControllerInfo info_;
  ConnectOptions opts_;
};

// Completes each request with `result`/`status` at once, or parks it
// (park = true) until complete_parked().
class FakeNamespace final : public Namespace {
 public:
  explicit FakeNamespace(uint32_t nsid = 1) : nsid_(nsid) {
    info_.size_bytes = 1 << 20;
    info_.block_size = 512;
  }
  const BlockDeviceInfo& info() const override { return info_; }
  void submit(IoRequest* req) override {
    ++submitted;
    if (on_submit) on_submit();
    if (park) {
      parked.push_back(req);
      return;
    }
    req->result = result;
    req->nvme_status = status;
    req->done(req);
  }
  uint32_t nsid() const override { return nsid_; }
  const nvme_id_ns& id() const override { return id_; }
  uint64_t nsze() const override { return info_.size_bytes / 512; }

  void complete_parked(int res = 0, uint16_t st = 0) {
    while (!parked.empty()) {
      IoRequest* r = parked.front();
      parked.pop_front();
      r->result = res;
      r->nvme_status = st;
      r->done(r);
    }
  }

  int submitted = 0;
  bool park = false;
  int result = 0;
  uint16_t status = 0;
  std::function<void()> on_submit;
  std::deque<IoRequest*> parked;

 private:
  uint32_t nsid_;
  nvme_id_ns id_{};
  BlockDeviceInfo info_;
};

struct Fixture {
  explicit Fixture(size_t n, IoPolicy policy = IoPolicy::RoundRobin) {
    std::vector<MultipathPath> paths;
    for (size_t i = 0; i < n; ++i) {
      ctrls.push_back(std::make_shared<FakeController>());
      nss.push_back(std::make_shared<FakeNamespace>());
      paths.push_back({ctrls.back(), nss.back()});
    }
    mp = std::make_unique<MultipathNamespace>(std::move(paths), policy, [this](size_t p) { ana_errors.push_back(p); });
  }
  std::vector<std::shared_ptr<FakeController>> ctrls;
  std::vector<std::shared_ptr<FakeNamespace>> nss;
  std::vector<size_t> ana_errors;
  std::unique_ptr<MultipathNamespace> mp;
};

struct Req {
  IoRequest r;
  bool done = false;
  Req() {
    static char buf[512];
    r.op = IoOp::Read;
    r.length = 512;
    r.buf = buf;
    r.user = this;
    r.done = [](IoRequest* q) { static_cast<Req*>(q->user)->done = true; };
  }
};

int run_one(MultipathNamespace& mp) {
  Req q;
  mp.submit(&q.r);
  REQUIRE(q.done);
  return q.r.result;
}

}  // namespace

TEST_CASE("round-robin spreads over optimized paths only") {
  Fixture f(3);
  for (int i = 0; i < 12; ++i) CHECK(run_one(*f.mp) == 0);
  CHECK(f.nss[0]->submitted == 4);
  CHECK(f.nss[1]->submitted == 4);
  CHECK(f.nss[2]->submitted == 4);

  f.mp->set_ana_state(1, AnaState::NonOptimized);
  for (int i = 0; i < 10; ++i) run_one(*f.mp);
  CHECK(f.nss[0]->submitted == 9);
  CHECK(f.nss[1]->submitted == 4);  // non-optimized: unused while an optimized path is usable
  CHECK(f.nss[2]->submitted == 9);

  f.mp->set_ana_state(0, AnaState::Inaccessible);
  f.ctrls[2]->state_ = ControllerState::Connecting;
  for (int i = 0; i < 3; ++i) run_one(*f.mp);
  CHECK(f.nss[1]->submitted == 7);  // the only usable path
}

TEST_CASE("queue-depth picks the path with the fewest outstanding requests") {
  Fixture f(2, IoPolicy::QueueDepth);
  f.nss[0]->park = f.nss[1]->park = true;
  Req a, b, c, d;
  f.mp->submit(&a.r);
  f.mp->submit(&b.r);
  CHECK(f.mp->outstanding(0) == 1);
  CHECK(f.mp->outstanding(1) == 1);
  f.nss[1]->complete_parked();
  CHECK(b.done);
  f.mp->submit(&c.r);  // path 1 is idle
  CHECK(f.nss[1]->submitted == 2);
  f.mp->submit(&d.r);  // both at depth 1: the first in order
  CHECK(f.mp->outstanding(0) + f.mp->outstanding(1) == 3);
  f.nss[0]->complete_parked();
  f.nss[1]->complete_parked();
  CHECK((a.done && c.done && d.done));
}

TEST_CASE("a transport error fails over with no error to the application") {
  Fixture f(2);
  f.nss[0]->result = -ENOTCONN;
  f.nss[0]->on_submit = [&] { f.ctrls[0]->state_ = ControllerState::Connecting; };
  for (int i = 0; i < 4; ++i) CHECK(run_one(*f.mp) == 0);
  CHECK(f.nss[0]->submitted == 1);  // failed once, then skipped while reconnecting
  CHECK(f.nss[1]->submitted == 4);
}

TEST_CASE("ANA statuses fail over and mark the path; other NVMe errors reach the application") {
  Fixture f(2);
  f.nss[0]->result = -EIO;
  f.nss[0]->status = 0x302;  // SCT 3h, SC 02h: ANA Inaccessible
  f.nss[1]->park = true;
  Req q;
  // round-robin starts at path 0
  f.mp->submit(&q.r);
  CHECK(f.mp->ana_state(0) == AnaState::Inaccessible);
  CHECK(f.ana_errors == std::vector<size_t>{0});
  f.nss[1]->complete_parked();
  CHECK(q.done);
  CHECK(q.r.result == 0);

  f.nss[1]->park = false;
  f.nss[1]->result = -EIO;
  f.nss[1]->status = 0x281;  // SCT 2h: Unrecovered Read Error -- a media error, the same on every path
  CHECK(run_one(*f.mp) == -EIO);
  CHECK(f.nss[1]->submitted == 2);
  CHECK(f.nss[0]->submitted == 1);

  CHECK(is_path_error(-EIO, 0x303));
  CHECK_FALSE(is_path_error(-EIO, 0x4302));  // DNR set
  CHECK_FALSE(is_path_error(-EROFS, 0));
}

TEST_CASE("retries are bounded when every path keeps failing") {
  Fixture f(2);
  f.nss[0]->result = f.nss[1]->result = -ENOTCONN;  // controllers stay live: a flapping fabric
  CHECK(run_one(*f.mp) == -ENOTCONN);
  CHECK(f.nss[0]->submitted + f.nss[1]->submitted == 5);
}

TEST_CASE("requests are held while no path is usable and resent when one returns") {
  Fixture f(2);
  f.ctrls[0]->state_ = ControllerState::Connecting;
  f.ctrls[1]->state_ = ControllerState::Dead;
  Req q;
  f.mp->submit(&q.r);
  CHECK_FALSE(q.done);
  CHECK(f.mp->held() == 1);
  f.mp->paths_changed();  // nothing usable yet
  CHECK_FALSE(q.done);
  f.ctrls[0]->state_ = ControllerState::Live;
  f.mp->paths_changed();
  CHECK(q.done);
  CHECK(q.r.result == 0);
  CHECK(f.nss[0]->submitted == 1);
  CHECK(f.mp->held() == 0);

  // An ANA state change releases them too.
  f.mp->set_ana_state(0, AnaState::Change);
  Req r;
  f.mp->submit(&r.r);
  CHECK_FALSE(r.done);
  f.mp->set_ana_state(0, AnaState::NonOptimized);
  CHECK(r.done);
  CHECK(r.r.result == 0);
}

TEST_CASE("held requests fail with -EIO once every path is dead, new ones at once") {
  Fixture f(2);
  f.ctrls[0]->state_ = ControllerState::Connecting;
  f.ctrls[1]->state_ = ControllerState::Connecting;
  Req q;
  f.mp->submit(&q.r);
  CHECK_FALSE(q.done);
  f.ctrls[0]->state_ = ControllerState::Dead;
  f.mp->paths_changed();
  CHECK_FALSE(q.done);  // path 1 may still come back
  f.ctrls[1]->state_ = ControllerState::Dead;
  f.mp->paths_changed();
  CHECK(q.done);
  CHECK(q.r.result == -EIO);
  CHECK(run_one(*f.mp) == -EIO);
}

TEST_CASE("a path dying under a request: failover, then hold, then -EIO") {
  Fixture f(2);
  f.nss[0]->park = f.nss[1]->park = true;
  Req q;
  f.mp->submit(&q.r);
  const size_t first = f.nss[0]->parked.empty() ? 1 : 0, second = 1 - first;
  f.ctrls[first]->state_ = ControllerState::Connecting;
  f.nss[first]->complete_parked(-EIO);  // fast_io_fail: parked I/O fails
  CHECK(f.nss[second]->parked.size() == 1);
  f.ctrls[second]->state_ = ControllerState::Connecting;
  f.nss[second]->complete_parked(-ETIMEDOUT);
  CHECK_FALSE(q.done);
  CHECK(f.mp->held() == 1);
  f.ctrls[0]->state_ = f.ctrls[1]->state_ = ControllerState::Dead;
  f.mp->paths_changed();
  CHECK(q.done);
  CHECK(q.r.result == -EIO);
}

TEST_CASE("multipath controller joins namespaces by NSID and aggregates state") {
  auto a = std::make_shared<FakeController>(), b = std::make_shared<FakeController>();
  a->namespaces_ = {std::make_shared<FakeNamespace>(1), std::make_shared<FakeNamespace>(2)};
  b->namespaces_ = {std::make_shared<FakeNamespace>(1)};
  auto mc = make_multipath_controller({a, b}, IoPolicy::RoundRobin);
  REQUIRE(mc->namespaces().size() == 2);
  auto* ns1 = dynamic_cast<MultipathNamespace*>(mc->ns(1).get());
  auto* ns2 = dynamic_cast<MultipathNamespace*>(mc->ns(2).get());
  REQUIRE(ns1);
  REQUIRE(ns2);
  CHECK(ns1->path_count() == 2);
  CHECK(ns2->path_count() == 1);
  CHECK(a->observer);
  CHECK(mc->state() == ControllerState::Live);
  a->state_ = ControllerState::Connecting;
  CHECK(mc->state() == ControllerState::Live);
  b->state_ = ControllerState::Dead;
  CHECK(mc->state() == ControllerState::Connecting);
  // A path coming back releases held I/O through the observer.
  Req q;
  ns1->submit(&q.r);
  CHECK_FALSE(q.done);
  b->state_ = ControllerState::Live;
  b->observer->on_state_change(ControllerState::Live);
  CHECK(q.done);
  CHECK(q.r.result == 0);
  mc->disconnect();
  CHECK(a->state_ == ControllerState::Deleting);

  auto c = std::make_shared<FakeController>("nqn.test:other");
  CHECK_THROWS_AS(make_multipath_controller({std::make_shared<FakeController>(), c}, IoPolicy::QueueDepth), Error);
}

TEST_CASE("ANA log parsing is bounds-checked") {
  std::vector<uint8_t> log(16 + 32 + 8 + 32, 0);
  log[8] = 2;                                  // NGRPS
  log[16] = 1;                                 // group 1
  log[20] = 2;                                 // NNSIDS = 2
  log[32] = 0x1;                               // optimized
  log[16 + 32 + 8] = 7;                        // group 7
  log[16 + 32 + 8 + 16] = 0x3;                 // inaccessible
  auto groups = parse_ana_log(log.data(), log.size());
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].grpid == 1);
  CHECK(groups[0].state == AnaState::Optimized);
  CHECK(groups[1].grpid == 7);
  CHECK(groups[1].state == AnaState::Inaccessible);

  CHECK_THROWS_AS(parse_ana_log(log.data(), 10), Error);               // no header
  CHECK_THROWS_AS(parse_ana_log(log.data(), log.size() - 1), Error);  // last descriptor cut
  log[20] = 200;                                                        // NNSIDS past the end
  CHECK_THROWS_AS(parse_ana_log(log.data(), log.size()), Error);
  log[20] = 2;
  log[32] = 0x7;  // reserved state
  CHECK_THROWS_AS(parse_ana_log(log.data(), log.size()), Error);

  nvme_id_ctrl id{};
  CHECK_FALSE(reports_ana(id));
  id.cmic = 1 << 3;
  CHECK(reports_ana(id));
}
