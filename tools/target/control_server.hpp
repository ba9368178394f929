// --control SOCKET: a unix stream socket on which the running target accepts
// one command per connection: one line of space-separated words in, one line
// out ("ok TEXT" or "error TEXT"). Served by its own thread; changes reach
// the I/O path through namespace table snapshots, never through locks there.
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "target_context.hpp"

namespace nvmefs::target {

class ControlServer {
 public:
  // Creates the socket (a stale one left by a dead target is replaced, a live
  // one is an error) and starts serving. Throws nvmefs::Error with one line.
  ControlServer(TargetContext& ctx, std::string path);
  // Stops the thread and removes the socket.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  void run();
  void serve_one(int fd);

  TargetContext& ctx_;
  const std::string path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: readable = stop
  std::thread thread_;
};

// The client: `nvmefs-target --control SOCKET ctl COMMAND ARGS...`. Returns
// the exit status (0 ok, 1 error with one line on stderr).
int control_client(const std::string& path, const std::vector<std::string>& words);

// If argv is a client invocation (--control SOCKET ctl ...), fills path and
// words and returns true.
bool parse_control_client(int argc, char** argv, std::string& path, std::vector<std::string>& words);

}  // namespace nvmefs::target
