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

struct IoQueues {
  std::vector<std::unique_ptr<Queue>> queues;

  // The queue of the calling CPU, so a CPU's requests stay on one connection.
  Queue& pick() {
    const int cpu = sched_getcpu();
    const size_t i = cpu >= 0 ? size_t(cpu) : next_.fetch_add(1, std::memory_order_relaxed);
    return *queues[i % queues.size()];
  }

 private:
  std::atomic<size_t> next_{0};
};

}  // namespace nvmefs::host
