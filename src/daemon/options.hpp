// Command line of the nvmefs program:
//   nvmefs nvme+tcp://HOST[:PORT][/SUBSYSNQN] MOUNTPOINT [-o OPT[,OPT...]]... [-f] [-d]
// -o options use nvme-cli's names; each one is declared once in options.cpp
// (name, default, help), which also generates --help.
#pragma once

#include <string>
#include <vector>

#include "nvmefs/cache/block_cache.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/uri.hpp"
#include "nvmefs/fs/tree.hpp"
#include "nvmefs/host/multipath.hpp"
#include "nvmefs/host/options.hpp"

namespace nvmefs::daemon {

// Exit codes (also listed by --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;      // bad command line, URI, option or mount point
inline constexpr int kExitConnect = 2;    // target unreachable, refused, no namespaces
inline constexpr int kExitMount = 3;      // FUSE mount failed, namespace locked by another daemon
inline constexpr int kExitWriteback = 4;  // final write-back/flush failed at unmount

// A bad command line: what() is the one line to print after "nvmefs: ".
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what, 22 /*EINVAL*/) {}
};

struct Config {
  std::string source;      // the URI as given (shown as the mount source)
  std::string mountpoint;  // as given
  bool discovery = false;  // no subsystem NQN: mount every subsystem the discovery controller lists
  host::ConnectOptions connect;
  std::vector<host::TransportId> extra_paths;  // -o path=URI: more paths to the subsystem (multipath)
  host::IoPolicy iopolicy = host::IoPolicy::RoundRobin;
  cache::CacheOptions cache;
  fs::FsOptions fs;
  bool foreground = false;
  bool debug = false;
  bool help = false;
  bool version = false;
};

// Parses argv (argv[0] is the program name). Throws UsageError. Reads the
// *_file= secret files; touches nothing else on the file system or network.
Config parse_command_line(const std::vector<std::string>& args);

// The --help text: usage, every option with its default, exit codes.
std::string help_text();

}  // namespace nvmefs::daemon
