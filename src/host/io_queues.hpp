// The I/O queues of a controller, shared by the controller and its
// namespaces (a Namespace may outlive the Controller object; its requests
// then fail with -ENOTCONN instead of touching freed queues).
#pragma once

#include <sched.h>

#include <atomic>
#include <memory>
#include <vector>

#include "queue.hpp"

namespace nvmefs::host {
// Largest data buffer of one command on any queue (bounds what a PDU may carry).
inline constexpr uint32_t kMaxCommandData = 8u << 20;
}  // namespace nvmefs::host

namespace nvmefs::host {

// The Queue objects live as long as this (they survive reconnects: a new
// connection is attached to the same Queue). The controller reserves the
// vector before the first push_back and publishes each new queue through
// `count` (release), so the timer thread can walk queues[0..count) while
// bring-up is still adding queues; the vector never reallocates afterwards.
struct IoQueues {
  std::vector<std::unique_ptr<Queue>> queues;
  std::atomic<size_t> count{0};   // queues constructed and visible to other threads
  std::atomic<size_t> active{0};  // queues requests go to (fewer after a reconnect granting fewer)

  // The queue of the calling CPU, so a CPU's requests stay on one connection.
  Queue& pick() {
    const int cpu = sched_getcpu();
    const size_t i = cpu >= 0 ? size_t(cpu) : next_.fetch_add(1, std::memory_order_relaxed);
    return *queues[i % active.load(std::memory_order_acquire)];
  }

 private:
  std::atomic<size_t> next_{0};
};

}  // namespace nvmefs::host
