// The plain TCP stream: the zero-copy path (sendmsg/recvmsg on the caller's iovecs).
#include "nvmefs/transport/byte_stream.hpp"
#include "socket_io.hpp"

namespace nvmefs::transport {
namespace {

class PlainStream final : public ByteStream {
 public:
  explicit PlainStream(int fd) : fd_(fd) {}
  int read_all(iovec* iov, int n) override { return recv_all(fd_, iov, n); }
  int write_all(iovec* iov, int n, bool more) override { return send_all(fd_, iov, n, more); }
  void set_timeout(uint32_t timeout_ms) override { set_socket_timeouts(fd_, timeout_ms); }

 private:
  const int fd_;
};

}  // namespace

std::unique_ptr<ByteStream> plain_stream(int fd) { return std::make_unique<PlainStream>(fd); }

}  // namespace nvmefs::transport
