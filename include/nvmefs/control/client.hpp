// The nvmefs-ctl side of the control socket (protocol.hpp).
#pragma once

#include <chrono>
#include <string>

#include "nvmefs/control/json.hpp"

namespace nvmefs::control {

class ControlClient {
 public:
  // Connects to the socket at `path`. Throws nvmefs::Error with one line:
  // "no control socket at PATH", "no nvmefs daemon answers at PATH (stale
  // socket?)", "permission denied: PATH".
  explicit ControlClient(const std::string& path);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends one request line, waits up to `timeout` for the reply line and
  // parses it. Throws nvmefs::Error on a transport failure, a timeout, a
  // malformed reply, or a reply {"error": ...} (what() is that message).
  json::Value call(const json::Value& request, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Sends raw bytes and returns the raw reply line (tests of the server).
  std::string call_raw(std::string_view bytes, std::chrono::milliseconds timeout);

 private:
  std::string path_;
  int fd_ = -1;
  std::string pending_;  // bytes received after the last reply line
};

}  // namespace nvmefs::control
