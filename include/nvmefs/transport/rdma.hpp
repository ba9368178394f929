// NVMe/RDMA queue pair (NVMe-oF 1.1 §7.3 RDMA transport binding, NVMe/RDMA
// transport specification), over rdma-core (librdmacm + libibverbs).
// Available when the build defines NVMEFS_HAVE_RDMA (meson option 'rdma').
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nvmefs/transport/queue_pair.hpp"

namespace nvmefs::transport {

struct RdmaParams {
  uint16_t qid = 0;        // sent in the CM private data; also for messages
  uint16_t nr_cids = 31;   // CIDs the upper layer uses: 0 .. nr_cids-1 (queue entries - 1)
  // Host-to-controller data up to this size goes in-capsule (IOCCSZ on I/O
  // queues). 0 on the admin queue: nvmet-rdma accepts no in-capsule data there.
  uint32_t max_inline_data = 0;
  uint32_t max_data_len = 1u << 23;                     // largest data buffer of one command
  // 0 (default): data is copied through pre-registered memory. Non-zero:
  // transfers above 16 KiB use the caller's buffer, registered once through
  // a cache of at most this many pinned bytes. Only for callers whose I/O
  // buffers stay mapped while the connection lives (see rdma_mr_cache.hpp).
  size_t registration_cache_bytes = 0;
  bool trace = false;                                   // log every capsule
};

// Resolves host:port (numeric or by name), creates the RC queue pair and runs
// the RDMA CM connect with the NVMe/RDMA private data (qid, hrqsize = nr_cids
// + 1, hsqsize = nr_cids), all within timeout_ms. Throws nvmefs::Error with
// one line ("connect to 10.0.2.15:4420 (rdma): rejected by the controller:
// invalid HSQSIZE").
std::unique_ptr<QueuePair> rdma_connect(const std::string& host, const std::string& port, const RdmaParams& params,
                                        uint32_t timeout_ms);

}  // namespace nvmefs::transport
