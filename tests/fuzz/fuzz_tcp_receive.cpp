// libFuzzer target: the host's real NVMe/TCP queue pair (src/transport)
// receiving arbitrary bytes as the controller's side of the connection.
//
// Input: one configuration byte (bit 0: header digest, bit 1: data digest),
// then the bytes the "controller" sends after a valid ICResp. Three commands
// are in flight when they arrive: CID 0 reads 8 KiB, CID 1 writes 8 KiB (by
// R2T/H2CData), CID 2 moves no data. Everything is written into a socketpair
// before the receive thread starts and the controller's end is then closed,
// so each run is deterministic and ends at EOF (or earlier, at a protocol
// error): the queue pair must report on_broken exactly once and never touch
// memory outside the command buffers (ASan watches the buffers' edges).
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/transport/tcp.hpp"
#include "nvmefs/wire/tcp_pdu.hpp"

using namespace nvmefs;
namespace tcp = wire::tcp;

namespace {

constexpr size_t kMaxInput = 128 * 1024;  // stays below the socket buffer
constexpr uint32_t kBufLen = 8192;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

class Events final : public transport::QueueEvents {
 public:
  void on_completion(const wire::Cqe& cqe) override {
    check(cqe.cid() <= 2);
    std::lock_guard lk(mu_);
    check(!broken_);
    check(!(completed_ & (1u << cqe.cid())));  // each command completes at most once
    completed_ |= 1u << cqe.cid();
  }
  void on_broken(int err, const std::string&) override {
    check(err < 0);
    std::lock_guard lk(mu_);
    check(!broken_);
    broken_ = true;
    cv_.notify_all();
  }
  void wait_broken() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return broken_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool broken_ = false;
  uint32_t completed_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  signal(SIGPIPE, SIG_IGN);
  log::set_level(log::Level::Error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kMaxInput) return -1;
  int sv[2];
  check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  int sndbuf = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  transport::TcpParams params;
  params.nr_cids = 3;
  params.header_digest = data[0] & 1;
  params.data_digest = data[0] & 2;
  params.max_inline_data = 0;  // the write goes by R2T
  params.max_data_len = kBufLen;

  uint8_t icresp[tcp::kMaxHeaderArea];
  tcp::IcResp resp;
  resp.digests = {params.header_digest, params.data_digest};
  resp.maxh2cdata = 4096;
  const size_t n = tcp::encode_icresp(resp, icresp);
  check(write(sv[1], icresp, n) == ssize_t(n));
  if (size > 1) check(write(sv[1], data + 1, size - 1) == ssize_t(size - 1));

  std::unique_ptr<transport::QueuePair> qp;
  try {
    qp = transport::tcp_over_socket(sv[0], "fuzz", params, 1000);
  } catch (const Error&) {
    check(false);  // the ICResp is valid
  }
  std::vector<uint8_t> read_buf(kBufLen), write_buf(kBufLen, 0x5A);
  wire::Sqe cmds[3];
  for (uint16_t cid = 0; cid < 3; ++cid) cmds[cid].set_cid(cid);
  check(qp->send_command(cmds[0], read_buf.data(), kBufLen, transport::DataDir::FromController) == 0);
  check(qp->send_command(cmds[1], write_buf.data(), kBufLen, transport::DataDir::ToController) == 0);
  check(qp->send_command(cmds[2], nullptr, 0, transport::DataDir::None) == 0);
  close(sv[1]);  // EOF after the input; H2CData replies fail with EPIPE

  Events events;
  qp->start(&events);
  events.wait_broken();
  qp->close();
  return 0;
}
