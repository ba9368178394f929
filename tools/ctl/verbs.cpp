// The verb table: names, usage lines, options. The code is in the verb_*.cpp files.
#include "verb.hpp"

namespace nvmefs::ctl {

const std::vector<Verb>& verbs() {
  static const std::vector<Verb> table = {
      {"discover", "[-t tcp] -a HOST [-s PORT] | nvme+tcp://HOST[:PORT]",
       "Read the discovery log of a discovery controller (port 8009 by default).",
       {{"transport", 't', "tcp", "transport type"},
        {"traddr", 'a', "HOST", "discovery controller address"},
        {"trsvcid", 's', "PORT", "port (default 8009)"},
        {"hostnqn", 'q', "NQN", "host NQN (default /etc/nvme/hostnqn)"}},
       true, run_discover},
      {"identify", "nvme+tcp://HOST[:PORT]/SUBSYSNQN[/NSID] [--ns NSID]",
       "Connect to a subsystem and print its Identify Controller and Identify Namespace data, decoded.",
       {{"ns", 'n', "NSID", "only this namespace (default: every active namespace)"},
        {"hostnqn", 'q', "NQN", "host NQN (default /etc/nvme/hostnqn)"}},
       true, run_identify},
      {"list", "", "List running nvmefs mounts: source, controllers and their state, namespaces, cache mode.", {}, true,
       run_list},
      {"stats", "MOUNTPOINT [--watch SECS] [--prometheus]",
       "I/O counters, IOPS, latency percentiles and cache counters per namespace of a mount.",
       {{"watch", 'w', "SECS", "print again every SECS seconds (IOPS over each interval)"},
        {"prometheus", 'p', nullptr, "Prometheus text exposition format"}},
       true, run_stats},
      {"flush", "MOUNTPOINT", "Write back everything dirty and send NVMe Flush (progress bar on a terminal).", {}, true,
       run_flush},
      {"drop-cache", "MOUNTPOINT", "Write back, then drop every cached block of a mount.", {}, true, run_drop_cache},
      {"reconnect", "MOUNTPOINT", "Reconnect the controllers of a mount now and show their state.", {}, true,
       run_reconnect},
      {"gen-hostnqn", "", "Print a new host NQN (nqn.2014-08.org.nvmexpress:uuid:<uuid>), like nvme gen-hostnqn.", {},
       false, run_gen_hostnqn},
      {"gen-dhchap-key", "[--hmac 0-3] [--key-length 32|48|64] [--nqn NQN]",
       "Print a new DH-HMAC-CHAP secret in DHHC-1 form, like nvme gen-dhchap-key.",
       {{"hmac", 'm', "0-3", "transform: 0 none, 1 SHA-256, 2 SHA-384, 3 SHA-512 (default 0)"},
        {"key-length", 'l', "32|48|64", "key length in bytes (default: the hash length, 32 for none)"},
        {"nqn", 'n', "NQN", "host NQN the key is transformed with (default /etc/nvme/hostnqn)"}},
       false, run_gen_dhchap_key},
  };
  return table;
}

}  // namespace nvmefs::ctl
