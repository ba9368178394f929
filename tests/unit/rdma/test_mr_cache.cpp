#include <doctest/doctest.h>

#include <cerrno>
#include <map>

#include "rdma_mr_cache.hpp"

using namespace nvmefs::transport::rdma;

namespace {
// Records registrations; keys count up so each registration is distinguishable.
class FakeRegistrar final : public Registrar {
 public:
  void* reg(void* addr, size_t len, MrKeys& keys) override {
    if (fail_next) {
      fail_next = false;
      errno = ENOMEM;
      return nullptr;
    }
    ++next;
    keys = {next, next + 1000};
    live[next] = {reinterpret_cast<uintptr_t>(addr), len};
    return reinterpret_cast<void*>(uintptr_t(next));
  }
  void dereg(void* handle) override {
    CHECK(live.erase(uint32_t(reinterpret_cast<uintptr_t>(handle))) == 1);
    ++deregs;
  }
  std::map<uint32_t, std::pair<uintptr_t, size_t>> live;  // handle -> (start, len)
  uint32_t next = 0;
  int deregs = 0;
  bool fail_next = false;
};

const void* at(uintptr_t a) { return reinterpret_cast<const void*>(a); }
}  // namespace

TEST_CASE("registers the page-aligned range and reuses it for anything inside") {
  FakeRegistrar r;
  MrCache c(r, 1 << 20);
  auto* e = c.acquire(at(0x10010), 0x3000);  // 0x10010..0x13010 -> pages 0x10000..0x14000
  REQUIRE(e);
  CHECK(r.live.at(1) == std::pair<uintptr_t, size_t>{0x10000, 0x4000});
  CHECK(e->keys.rkey == 1001);
  auto* inside = c.acquire(at(0x12000), 0x2000);
  CHECK(inside == e);
  CHECK(r.next == 1);
  CHECK(e->refs == 2);
  c.release(e);
  c.release(inside);
  CHECK(c.registered_bytes() == 0x4000);
  CHECK(c.size() == 1);
}

TEST_CASE("a longer range with the same start supersedes the shorter entry") {
  FakeRegistrar r;
  MrCache c(r, 1 << 20);
  auto* small = c.acquire(at(0x20000), 0x1000);
  c.release(small);
  auto* big = c.acquire(at(0x20000), 0x8000);
  REQUIRE(big);
  CHECK(big->keys.rkey == 1002);  // a second registration
  CHECK(r.deregs == 1);  // the unused shorter one is gone
  CHECK(c.acquire(at(0x20000), 0x1000) == big);
}

TEST_CASE("superseded entries in use stay registered until released") {
  FakeRegistrar r;
  MrCache c(r, 1 << 20);
  auto* small = c.acquire(at(0x20000), 0x1000);
  auto* big = c.acquire(at(0x20000), 0x8000);
  CHECK(r.live.size() == 2);
  c.release(small);
  CHECK(r.live.size() == 1);
  c.release(big);
  CHECK(r.live.size() == 1);
}

TEST_CASE("LRU eviction above the byte limit skips entries in use") {
  FakeRegistrar r;
  MrCache c(r, 0x3000);
  auto* a = c.acquire(at(0x100000), 0x2000);
  auto* b = c.acquire(at(0x200000), 0x2000);  // over the limit, but a and b are in use
  CHECK(r.live.size() == 2);
  c.release(a);  // a is now idle and least recently used: evicted
  CHECK(r.live.size() == 1);
  CHECK(r.live.begin()->second.first == 0x200000);
  c.release(b);
  CHECK(c.registered_bytes() == 0x2000);
  auto* b2 = c.acquire(at(0x200000), 0x1000);  // still cached
  CHECK(b2 == b);
  c.release(b2);
}

TEST_CASE("remote invalidation: the entry is never handed out again") {
  FakeRegistrar r;
  MrCache c(r, 1 << 20);
  auto* e = c.acquire(at(0x30000), 0x1000);
  c.invalidate(e);
  CHECK(r.deregs == 0);  // the command still holds it
  c.release(e);
  CHECK(r.deregs == 1);
  auto* again = c.acquire(at(0x30000), 0x1000);
  REQUIRE(again);
  CHECK(again->keys.rkey != 1001);
  c.release(again);
}

TEST_CASE("registration failure and bad arguments return nullptr with errno") {
  FakeRegistrar r;
  MrCache c(r, 1 << 20);
  r.fail_next = true;
  errno = 0;
  CHECK(c.acquire(at(0x40000), 0x1000) == nullptr);
  CHECK(errno == ENOMEM);
  CHECK(c.size() == 0);
  CHECK(c.acquire(at(0x40000), 0) == nullptr);
  CHECK(errno == EINVAL);
  CHECK(c.acquire(at(~uintptr_t(0) - 10), 100) == nullptr);
}

TEST_CASE("clear and destruction deregister everything") {
  FakeRegistrar r;
  {
    MrCache c(r, 1 << 20);
    c.release(c.acquire(at(0x50000), 0x1000));
    c.release(c.acquire(at(0x60000), 0x1000));
    c.clear();
    CHECK(r.live.empty());
    c.release(c.acquire(at(0x70000), 0x1000));
  }
  CHECK(r.live.empty());
  CHECK(r.deregs == 3);
}
