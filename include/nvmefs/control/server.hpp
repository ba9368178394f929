// The daemon side of the control socket (protocol.hpp): one thread accepts
// connections, each connection is served by a thread of its own (at most
// kMaxConnections at once, so a long flush does not block a stats poll).
// Malformed, oversized or unauthorised requests get {"error":...}; the
// server keeps serving. The socket file is removed by the destructor.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "nvmefs/control/json.hpp"

namespace nvmefs::control {

// Answers one well-formed request object (which has a string "cmd"). May
// throw nvmefs::Error: the server replies {"error": what()}.
using Handler = std::function<json::Value(const json::Value& request)>;

class ControlServer {
 public:
  // Creates the directory (0700) if needed, replaces a stale socket, binds
  // and listens (mode 0600), starts the accept thread. Throws nvmefs::Error,
  // e.g. when a live daemon already answers at `path`.
  ControlServer(std::string path, Handler handler);
  ~ControlServer();  // stops accepting, ends connections, joins threads, unlinks the socket
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const { return path_; }

  // One request line -> one reply line (no newline). Public for the unit tests.
  static std::string answer(const Handler& handler, std::string_view line);

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  void accept_loop();
  void serve(Connection& c);
  void reap_finished();  // joins connection threads that ended (accept thread only)

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::thread acceptor_;
  std::mutex conn_mutex_;
  std::list<Connection> connections_;
};

}  // namespace nvmefs::control
