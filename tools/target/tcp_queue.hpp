// One NVMe/TCP connection = one NVMe queue (admin or I/O), served by one
// thread with blocking socket I/O (NVMe/TCP 1.0 §3). Commands run in the
// order they arrive; writes that need R2T wait for their H2CData while other
// commands keep flowing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth.hpp"
#include "command.hpp"
#include "fabrics.hpp"
#include "io.hpp"
#include "log_pages.hpp"
#include "nvmefs/transport/byte_stream.hpp"
#include "nvmefs/wire/tcp_pdu.hpp"
#include "target_context.hpp"

namespace nvmefs::target {

class TcpQueue {
 public:
  // PDUs travel on `stream` (plain or TLS) over socket `fd`. Owns neither
  // (the server closes fd after run() returns).
  TcpQueue(TargetContext& ctx, int fd, transport::ByteStream& stream, LocalAddress local, std::string peer);
  ~TcpQueue();
  TcpQueue(const TcpQueue&) = delete;
  TcpQueue& operator=(const TcpQueue&) = delete;

  // Serves the connection until it closes, fails, or its controller goes away.
  void run();

 private:
  // A command whose host-to-controller data arrives in H2CData PDUs (TTAG = index).
  struct Transfer {
    bool active = false;
    wire::Sqe sqe;
    uint32_t length = 0;
    uint32_t requested = 0;  // bytes asked for by R2Ts so far
    uint32_t received = 0;
    uint16_t status = 0;     // first error; the data is still consumed
    uint64_t io_number = 0;  // fault injection counter of I/O commands
    Extent extent;           // Write: data goes straight to storage
    std::vector<uint8_t> gathered;  // any other command: data collected here
  };

  bool handshake();
  bool receive_header(wire::tcp::CommonHeader& ch);
  bool receive_data(uint8_t* dst, size_t len, const wire::tcp::CommonHeader& ch, bool& digest_ok);
  bool on_capsule(const wire::tcp::CommonHeader& ch);
  bool on_h2c_data(const wire::tcp::CommonHeader& ch);
  bool on_term_req(const wire::tcp::CommonHeader& ch);

  bool dispatch(const wire::Sqe& sqe, std::span<const uint8_t> in_capsule);
  bool execute(const wire::Sqe& sqe, std::span<const uint8_t> data, uint32_t data_len, uint64_t io_number);
  bool execute_fabrics(const wire::Sqe& sqe, std::span<const uint8_t> data, uint32_t data_len);
  bool execute_io_command(const wire::Sqe& sqe, std::span<const uint8_t> data, uint32_t data_len,
                          uint64_t io_number);
  bool start_transfer(const wire::Sqe& sqe, uint32_t length, const Extent* extent, uint64_t io_number);
  bool issue_r2ts(uint16_t ttag);
  bool finish_transfer(uint16_t ttag);
  bool send_read(const wire::Sqe& sqe, const Extent& e, uint64_t io_number);

  bool reply(const wire::Sqe& sqe, Reply r, uint32_t data_len);
  bool complete(uint16_t cid, uint16_t status, uint32_t dw0 = 0, uint32_t dw1 = 0);
  bool complete_io(uint16_t cid, uint16_t status, uint64_t io_number);
  bool send_c2h_data(uint16_t cid, uint32_t offset, std::span<const uint8_t> data, bool last, bool success,
                     uint64_t io_number);
  bool send_malformed_c2h_data(wire::tcp::DataHeader h, std::span<const uint8_t> data, MalformedKind kind);
  bool send_malformed_resp(uint16_t cid, MalformedKind kind);
  bool send_pdu(size_t header_len, std::span<const uint8_t> data, bool corrupt_digest = false);
  bool fatal(wire::tcp::TermFes fes, uint32_t fei, size_t offending_len);

  uint32_t in_capsule_limit() const;
  // The queue's snapshot of its subsystem's namespaces, refreshed when the
  // subsystem's generation moved (one atomic load per command otherwise).
  const NamespaceTable& namespaces();
  // Admin queue: completes held AERs as events arrive, on its own thread, so
  // neither the control thread nor this one waits for the other.
  void start_event_sender();
  void send_async_events();

  TargetContext& ctx_;
  const int fd_;
  transport::ByteStream& stream_;
  const LocalAddress local_;
  const std::string peer_;

  // Negotiated in ICReq/ICResp (NVMe/TCP 1.0 §3.6.2.2/3).
  wire::tcp::Digests digests_;
  uint8_t hpda_ = 0;
  uint32_t max_r2t_ = 1;  // outstanding R2Ts per command (MAXR2T + 1)
  uint32_t max_plen_ = 0;

  QueueBinding binding_;  // set by Connect
  std::optional<QueueAuth> auth_;  // when Connect required authentication
  std::atomic<uint16_t> sqhd_{0};  // read by the event sender too

  std::shared_ptr<const NamespaceTable> ns_table_;
  uint64_t ns_generation_ = ~0ull;
  // Tables replaced while a Write transfer still points into them (its Extent).
  std::vector<std::shared_ptr<const NamespaceTable>> retired_tables_;

  std::thread event_sender_;
  bool send_locked_ = false;  // set once event_sender_ runs: PDUs are sent under send_mu_
  std::mutex send_mu_;

  std::vector<Transfer> transfers_;
  std::vector<uint16_t> free_ttags_;

  uint8_t rx_header_[wire::tcp::kMaxHeaderArea];
  uint8_t tx_header_[wire::tcp::kMaxHeaderArea];
  std::vector<uint8_t> in_capsule_;  // in-capsule data of the current command
  std::vector<uint8_t> buffer_;      // H2CData payloads, C2HData chunks
};

}  // namespace nvmefs::target
