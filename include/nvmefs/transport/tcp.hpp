// NVMe/TCP queue pair (NVMe/TCP Transport Specification 1.0, "TCP §").
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nvmefs/transport/queue_pair.hpp"
#include "nvmefs/transport/tls_psk.hpp"

namespace nvmefs::transport {

struct TcpParams {
  uint16_t qid = 0;             // for messages only
  uint16_t nr_cids = 32;        // CIDs the upper layer uses: 0 .. nr_cids-1
  bool header_digest = false;   // requested in ICReq
  bool data_digest = false;
  uint32_t max_inline_data = 8192;   // TCP §3.3.2: admin queue in-capsule limit until told otherwise
  uint32_t max_data_len = 1u << 24;  // largest data buffer of one command (bounds PLEN)
  bool trace = false;           // log every PDU
  // Set: TLS 1.3 with this PSK (tls.hpp) before ICReq (TCP §3.6.1.x); null: plain TCP.
  std::shared_ptr<const TlsPsk> tls;
};

// Opens a TCP connection to host:port (getaddrinfo; every address tried in
// turn, non-blocking connect bounded by timeout_ms; TCP_NODELAY) and runs the
// ICReq/ICResp exchange (after the TLS handshake, with params.tls) within the same deadline. Throws nvmefs::Error with
// one line ("connect to 127.0.0.1:4499: Connection refused").
std::unique_ptr<QueuePair> tcp_connect(const std::string& host, const std::string& port, const TcpParams& params,
                                       uint32_t timeout_ms);

// Same, over an already connected stream socket (takes ownership of fd).
// `peer` names the other end in messages. Used by tests with a socketpair.
std::unique_ptr<QueuePair> tcp_over_socket(int fd, const std::string& peer, const TcpParams& params,
                                           uint32_t timeout_ms);

}  // namespace nvmefs::transport
