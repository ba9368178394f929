// The control protocol between an nvmefs daemon and nvmefs-ctl (documented
// for users in man/nvmefs-ctl.8, section CONTROL PROTOCOL).
//
// One unix stream socket per mount, mode 0600, in a directory of mode 0700:
//   root:      /run/nvmefs/ctl/<escaped mount point>.sock
//   others:    $XDG_RUNTIME_DIR/nvmefs/<escaped mount point>.sock
// The escaping is systemd-escape --path's ("/mnt/x" -> "mnt-x"); a name that
// would not fit in sun_path becomes "h-<64-bit FNV-1a hash in hex>".
//
// JSON lines: the client sends one object per line, {"cmd":"NAME", ...};
// the daemon answers each with one object on one line: {"ok":true, ...} or
// {"error":"one line"}. Requests are at most kMaxRequest bytes; a connection
// idle for kIdleTimeout is closed. Only the daemon's user and root may talk.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace nvmefs::control {

inline constexpr size_t kMaxRequest = 4096;
inline constexpr auto kIdleTimeout = std::chrono::seconds(10);
inline constexpr unsigned kMaxConnections = 8;
inline constexpr int kProtocolVersion = 1;

// Commands (the "cmd" member).
inline constexpr const char* kCmdPing = "ping";            // {"ok":true,"version":1}
inline constexpr const char* kCmdInfo = "info";            // mount, controllers, namespaces
inline constexpr const char* kCmdStats = "stats";          // counters per namespace
inline constexpr const char* kCmdFlush = "flush";          // write back + NVMe Flush, every namespace
inline constexpr const char* kCmdDropCache = "drop-cache"; // write back, then drop clean blocks
inline constexpr const char* kCmdReconnect = "reconnect";  // reconnect now, then each controller's state

// The directory of this user's control sockets (not created). nullopt when a
// non-root user has no XDG_RUNTIME_DIR.
std::optional<std::string> socket_dir();

// systemd-escape --path: "/" -> "-", "/mnt/my disk" -> "mnt-my\x20disk".
std::string escape_path(const std::string& absolute_path);

// The socket of the mount at `mountpoint` (absolute) inside `dir`.
std::string socket_path(const std::string& dir, const std::string& mountpoint);

}  // namespace nvmefs::control
