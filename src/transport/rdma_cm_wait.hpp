// RDMA CM connection setup steps with a deadline: resolve address and route,
// wait for one event. Throws nvmefs::Error with one line.
#pragma once

#include <rdma/rdma_cma.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace nvmefs::transport::rdma {

using Clock = std::chrono::steady_clock;

// A CM event, acknowledged, with its private data copied out.
struct CmEvent {
  rdma_cm_event_type type = RDMA_CM_EVENT_ADDR_ERROR;
  int status = 0;
  std::vector<uint8_t> private_data;
};

// Waits for the next event on `ch` (whose fd is non-blocking) until `deadline`.
// `what` names the step in the timeout message; `peer` prefixes it.
CmEvent wait_cm_event(rdma_event_channel* ch, Clock::time_point deadline, const std::string& peer, const char* what);

// getaddrinfo(host, port), then rdma_resolve_addr and rdma_resolve_route on
// `id`, each waited for until `deadline`.
void resolve(rdma_cm_id* id, const std::string& host, const std::string& port, Clock::time_point deadline,
             const std::string& peer);

// Milliseconds until `deadline`, at least 1.
int ms_left(Clock::time_point deadline);

}  // namespace nvmefs::transport::rdma
