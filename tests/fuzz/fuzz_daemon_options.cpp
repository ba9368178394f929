// libFuzzer target: the nvmefs daemon's command line parser (src/daemon/options.cpp).
// Input: if it starts with '-', NUL-separated arguments after "nvmefs";
// otherwise the value of one -o with a fixed URI and mount point. The parser
// must return a Config or throw UsageError with a message, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

using namespace nvmefs;

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"nvmefs"};
  if (!in.empty() && in[0] == '-') {
    for (size_t at = 0; at <= in.size();) {
      size_t end = in.find('\0', at);
      if (end == std::string::npos) end = in.size();
      args.push_back(in.substr(at, end - at));
      at = end + 1;
    }
  } else {
    args.insert(args.end(), {"nvme+tcp://127.0.0.1:4420/nqn.2024-01.io.nvmefs:fuzz", "/mnt", "-o", in});
  }
  try {
    daemon::parse_command_line(args);
  } catch (const daemon::UsageError& e) {
    // One line, unless the line quotes a newline the input itself contained.
    const std::string msg = e.what();
    check(!msg.empty() && (msg.find('\n') == std::string::npos || in.find('\n') != std::string::npos));
  }
  return 0;
}
