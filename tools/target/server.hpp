// The listener: accepts connections, runs each as a TcpQueue on its own
// thread, enforces keep-alive timeouts, and stops everything on a signal.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "nvmefs/transport/byte_stream.hpp"
#include "target_context.hpp"

namespace nvmefs::target {

class Server {
 public:
  explicit Server(TargetContext& ctx) : ctx_(ctx) {}
  ~Server();

  // Binds and listens; throws nvmefs::Error ("cannot listen on H:P: Address
  // already in use"). Returns the bound port (useful with port 0) and sets ctx.port.
  uint16_t listen(const std::string& host, uint16_t port);
  // Serves until `signal_fd` (a signalfd) becomes readable, then closes every connection.
  void run(int signal_fd);

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_one();
  std::unique_ptr<transport::ByteStream> open_stream(int fd, const std::string& peer);
  void reap(bool all);

  TargetContext& ctx_;
  int listen_fd_ = -1;
  std::list<std::unique_ptr<Connection>> connections_;
};

}  // namespace nvmefs::target
