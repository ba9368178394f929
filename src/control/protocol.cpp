#include "nvmefs/control/protocol.hpp"

#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <fmt/format.h>

namespace nvmefs::control {

std::optional<std::string> socket_dir() {
  if (geteuid() == 0) return std::string("/run/nvmefs/ctl");
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (!xdg || xdg[0] != '/') return std::nullopt;
  return std::string(xdg) + "/nvmefs";
}

std::string escape_path(const std::string& path) {
  size_t begin = path.find_first_not_of('/');
  if (begin == std::string::npos) return "-";
  size_t end = path.find_last_not_of('/') + 1;
  std::string out;
  bool slash = false;
  for (size_t i = begin; i < end; ++i) {
    char c = path[i];
    if (c == '/') {
      slash = true;  // runs of '/' are one separator
      continue;
    }
    if (slash) out += '-', slash = false;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                 c == '_' || (c == '.' && !out.empty());
    if (plain) out += c;
    else out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
  }
  return out;
}

std::string socket_path(const std::string& dir, const std::string& mountpoint) {
  std::string path = fmt::format("{}/{}.sock", dir, escape_path(mountpoint));
  if (path.size() < sizeof(sockaddr_un::sun_path)) return path;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : mountpoint) h = (h ^ c) * 0x100000001b3ull;
  return fmt::format("{}/h-{:016x}.sock", dir, h);
}

}  // namespace nvmefs::control
