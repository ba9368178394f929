// nvmefs-ctl: talks to targets (discover, identify), to running nvmefs
// daemons through their control sockets (list, stats, flush, drop-cache,
// reconnect), and makes keys (gen-hostnqn, gen-dhchap-key). See nvmefs-ctl(8).
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "nvmefs/common/log.hpp"
#include "verb.hpp"

using namespace nvmefs;
using namespace nvmefs::ctl;

namespace {

// bench: nvmefs-perf next to this program (installed), in the build tree, or in PATH.
int run_bench(const std::vector<std::string>& args) {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? std::string(self, size_t(n)) : "";
  dir = dir.substr(0, dir.rfind('/'));
  std::vector<std::string> candidates = {dir + "/nvmefs-perf", dir + "/../perf/nvmefs-perf"};
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("nvmefs-perf"));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) ::execv(c.c_str(), argv.data());
  ::execvp("nvmefs-perf", argv.data());
  std::fprintf(stderr, "nvmefs-ctl: bench: cannot run nvmefs-perf: %s\n", std::strerror(errno));
  return kExitFailed;
}

std::string main_help() {
  std::string s = "usage: nvmefs-ctl VERB [OPTIONS] [ARGS]   (nvmefs-ctl VERB --help for each verb)\n\n";
  for (const auto& v : verbs()) s += fmt::format("  {:<15} {}\n", v.name, v.summary);
  s += fmt::format("  {:<15} {}\n", "bench", "run nvmefs-perf with the remaining arguments");
  s += "\nExit codes: 0 success, 1 bad command line, 2 the operation failed.\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_level(log::Level::Warn);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return std::fputs(main_help().c_str(), stderr), kExitUsage;
  const std::string& name = args[0];
  if (name == "-h" || name == "--help" || name == "help") return std::fputs(main_help().c_str(), stdout), 0;
  if (name == "bench") return run_bench({args.begin() + 1, args.end()});
  for (const auto& verb : verbs()) {
    if (name != verb.name) continue;
    try {
      Args parsed = parse_args(verb, {args.begin() + 1, args.end()});
      if (parsed.has("help")) return std::fputs(verb_help(verb).c_str(), stdout), 0;
      return verb.run(parsed);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "nvmefs-ctl: %s\n", e.what());
      return kExitUsage;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nvmefs-ctl: %s: %s\n", verb.name, e.what());
      return kExitFailed;
    }
  }
  std::fprintf(stderr, "nvmefs-ctl: unknown verb '%s' (see nvmefs-ctl --help)\n", name.c_str());
  return kExitUsage;
}
