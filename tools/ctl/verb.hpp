// nvmefs-ctl verbs: each declares its options once (name, value, help);
// parsing and --help both read that declaration, like nvme-cli's plugins.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nvmefs/common/error.hpp"

namespace nvmefs::ctl {

// Exit codes: 0 ok, 1 bad command line, 2 the operation failed.
inline constexpr int kExitUsage = 1;
inline constexpr int kExitFailed = 2;

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what, 22) {}
};

struct OptionSpec {
  const char* long_name;
  char short_name;    // 0: none
  const char* value;  // placeholder; nullptr for a flag
  const char* help;
};

struct Args {
  std::map<std::string, std::string> values;  // by long name; flags map to ""
  std::vector<std::string> positional;
  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  bool json() const { return get("output-format", "normal") == "json"; }
};

struct Verb {
  const char* name;
  const char* usage;  // after "nvmefs-ctl NAME "
  const char* summary;
  std::vector<OptionSpec> options;
  bool prints_data;   // accepts -o normal|json
  int (*run)(const Args&);
};

const std::vector<Verb>& verbs();  // every verb, in --help order

// Parses the arguments after the verb. Throws UsageError.
Args parse_args(const Verb& verb, const std::vector<std::string>& args);
std::string verb_help(const Verb& verb);

// The verbs (one file per group).
int run_discover(const Args&);
int run_identify(const Args&);
int run_list(const Args&);
int run_stats(const Args&);
int run_flush(const Args&);
int run_drop_cache(const Args&);
int run_reconnect(const Args&);
int run_gen_hostnqn(const Args&);
int run_gen_dhchap_key(const Args&);

}  // namespace nvmefs::ctl
