// nvmefs-target: a small NVMe/TCP target (see options.cpp for the command line).
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "controller.hpp"
#include "faults.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "options.hpp"
#include "server.hpp"
#include "subsystem.hpp"
#include "target_context.hpp"

namespace {

// SIGINT/SIGTERM become readable on a signalfd. Blocked before any thread
// starts, so every thread inherits the mask and only the main loop sees them.
int block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) throw nvmefs::Error(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

void log_exports(const std::vector<std::unique_ptr<nvmefs::target::Subsystem>>& subsystems,
                 const nvmefs::target::Options& o) {
  for (const auto& sub : subsystems)
    for (const auto& ns : sub->namespaces)
      nvmefs::log::info("{} nsid {}: {} ({} blocks of {} bytes{})", sub->nqn, ns.nsid, ns.storage->name(),
                        ns.lba_count, 1u << ns.lba_shift, o.read_only ? ", read-only" : "");
}

int run(int argc, char** argv) {
  using namespace nvmefs::target;
  Options opts = parse_options(argc, argv);
  nvmefs::log::set_level(opts.verbosity >= 2   ? nvmefs::log::Level::Trace
                         : opts.verbosity == 1 ? nvmefs::log::Level::Debug
                                               : nvmefs::log::Level::Info);
  const int signal_fd = block_termination_signals();
  std::vector<std::unique_ptr<Subsystem>> subsystems;
  ControllerRegistry controllers;
  FaultInjector faults(opts.faults);
  TargetContext ctx{opts, subsystems, controllers, faults};
  {
    Server server(ctx);
    uint16_t port = server.listen(opts.listen_host, opts.listen_port);
    subsystems = build_subsystems(opts);
    log_exports(subsystems, opts);
    const bool v6 = opts.listen_host.find(':') != std::string::npos;
    std::printf(v6 ? "listening on [%s]:%u\n" : "listening on %s:%u\n", opts.listen_host.c_str(), unsigned(port));
    std::fflush(stdout);
    server.run(signal_fd);
  }
  int rc = 0;
  for (auto& sub : subsystems)
    for (auto& ns : sub->namespaces)
      if (int err = ns.storage->flush()) {
        nvmefs::log::error("flush {}: {}", ns.storage->name(), std::strerror(-err));
        rc = 1;
      }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const nvmefs::Error& e) {
    std::fprintf(stderr, "nvmefs-target: %s\n", e.what());
    return 1;
  }
}
