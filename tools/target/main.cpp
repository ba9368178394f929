// nvmefs-target: a small NVMe/TCP target (see options.cpp for the command line).
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "control_server.hpp"
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

void log_exports(const nvmefs::target::SubsystemRegistry& subsystems, const nvmefs::target::Options& o) {
  for (const auto& sub : subsystems.all())
    sub->namespaces()->for_each([&](const nvmefs::target::Namespace& ns) {
      nvmefs::log::info("{} nsid {}: {} ({} blocks of {} bytes{})", sub->nqn, ns.nsid, ns.storage->name(),
                        ns.lba_count, 1u << ns.lba_shift, o.read_only ? ", read-only" : "");
    });
}

int run(int argc, char** argv) {
  using namespace nvmefs::target;
  std::string control_path;
  std::vector<std::string> ctl_words;
  if (parse_control_client(argc, argv, control_path, ctl_words)) return control_client(control_path, ctl_words);
  Options opts = parse_options(argc, argv);
  nvmefs::log::set_level(opts.verbosity >= 2   ? nvmefs::log::Level::Trace
                         : opts.verbosity == 1 ? nvmefs::log::Level::Debug
                                               : nvmefs::log::Level::Info);
  const int signal_fd = block_termination_signals();
  SubsystemRegistry subsystems;
  ControllerRegistry controllers;
  FaultInjector faults(opts.faults);
  TargetContext ctx{opts, subsystems, controllers, faults};
  {
    Server server(ctx);
    uint16_t port = server.listen(opts.listen_host, opts.listen_port);
    build_subsystems(opts, subsystems);
    log_exports(subsystems, opts);
    std::unique_ptr<ControlServer> control;
    if (!opts.control_socket.empty()) control = std::make_unique<ControlServer>(ctx, opts.control_socket);
    const bool v6 = opts.listen_host.find(':') != std::string::npos;
    std::printf(v6 ? "listening on [%s]:%u\n" : "listening on %s:%u\n", opts.listen_host.c_str(), unsigned(port));
    std::fflush(stdout);
    server.run(signal_fd);
  }
  int rc = 0;
  for (auto& sub : subsystems.all())
    sub->namespaces()->for_each([&](const Namespace& ns) {
      if (int err = ns.storage->flush()) {
        nvmefs::log::error("flush {}: {}", ns.storage->name(), std::strerror(-err));
        rc = 1;
      }
    });
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
