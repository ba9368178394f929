// The nvmefs command line: every -o option, defaults, helper options that
// must be ignored, and the one-line errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include "../../../src/daemon/options.hpp"

using namespace nvmefs;
using namespace nvmefs::daemon;

namespace {

const char* kUri = "nvme+tcp://127.0.0.1:4420/nqn.2024-01.io.example:sub1";

Config parse(std::vector<std::string> extra) {
  std::vector<std::string> args = {"nvmefs", kUri, "/mnt"};
  args.insert(args.end(), extra.begin(), extra.end());
  return parse_command_line(args);
}

Config with(const std::string& opts) { return parse({"-o", opts}); }

std::string error_of(std::vector<std::string> args) {
  try {
    parse_command_line(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string option_error(const std::string& opts) { return error_of({"nvmefs", kUri, "/mnt", "-o", opts}); }

}  // namespace

TEST_CASE("defaults") {
  Config c = parse({});
  CHECK(c.source == kUri);
  CHECK(c.mountpoint == "/mnt");
  CHECK_FALSE(c.discovery);
  CHECK(c.connect.target.trtype == "tcp");
  CHECK(c.connect.target.traddr == "127.0.0.1");
  CHECK(c.connect.target.trsvcid == "4420");
  CHECK(c.connect.target.subnqn == "nqn.2024-01.io.example:sub1");
  CHECK(c.connect.hostnqn.empty());
  CHECK(c.connect.nr_io_queues == 0);
  CHECK(c.connect.queue_size == 128);
  CHECK(c.connect.keep_alive_tmo == 5);
  CHECK(c.connect.ctrl_loss_tmo == 600);
  CHECK(c.connect.reconnect_delay == 10);
  CHECK_FALSE(c.connect.hdr_digest);
  CHECK_FALSE(c.connect.data_digest);
  CHECK(c.cache.mode == cache::Mode::WriteThrough);
  CHECK(c.cache.cache_size == 256ull << 20);
  CHECK(c.cache.cache_block == 64u << 10);
  CHECK(c.cache.readahead_max == 4ull << 20);
  CHECK(c.cache.dirty_max == 64ull << 20);
  CHECK(c.cache.dirty_expire_ms == 5000);
  CHECK(c.fs.uid == getuid());
  CHECK(c.fs.gid == getgid());
  CHECK(c.fs.umask == 022);
  CHECK_FALSE(c.fs.read_only);
  CHECK_FALSE(c.fs.allow_other);
  CHECK_FALSE(c.fs.kernel_cache);
  CHECK(c.fs.fsname == kUri);
  CHECK(c.fs.mount_options.empty());
  CHECK_FALSE(c.foreground);
  CHECK_FALSE(c.debug);
}

TEST_CASE("every option") {
  Config c = with(
      "transport=tcp,traddr=10.0.0.2,trsvcid=4421,nqn=nqn.2024-01.io.example:other,hostnqn=nqn.2014-08.org.nvmexpress:uuid:1,"
      "hostid=1b4e28ba-2fa1-11d2-883f-0016d3cca427,nr_io_queues=4,queue_size=256,hdr_digest,data_digest,keep_alive_tmo=7,"
      "ctrl_loss_tmo=-1,reconnect_delay=3,cache=writeback,cache_size=1G,cache_block=128K,readahead=0,dirty_max=32M,"
      "dirty_expire=30,uid=1000,gid=100,umask=0077,allow_other,default_permissions,ro,kernel_cache,debug");
  CHECK(c.connect.target.traddr == "10.0.0.2");
  CHECK(c.connect.target.trsvcid == "4421");
  CHECK(c.connect.target.subnqn == "nqn.2024-01.io.example:other");
  CHECK(c.connect.hostnqn == "nqn.2014-08.org.nvmexpress:uuid:1");
  CHECK(c.connect.hostid == "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
  CHECK(c.connect.nr_io_queues == 4);
  CHECK(c.connect.queue_size == 256);
  CHECK(c.connect.hdr_digest);
  CHECK(c.connect.data_digest);
  CHECK(c.connect.keep_alive_tmo == 7);
  CHECK(c.connect.ctrl_loss_tmo == -1);
  CHECK(c.connect.reconnect_delay == 3);
  CHECK(c.cache.mode == cache::Mode::WriteBack);
  CHECK(c.cache.cache_size == 1ull << 30);
  CHECK(c.cache.cache_block == 128u << 10);
  CHECK(c.cache.readahead_max == 0);
  CHECK(c.cache.dirty_max == 32ull << 20);
  CHECK(c.cache.dirty_expire_ms == 30000);
  CHECK(c.fs.uid == 1000);
  CHECK(c.fs.gid == 100);
  CHECK(c.fs.umask == 077);
  CHECK(c.fs.allow_other);
  CHECK(c.fs.read_only);
  CHECK(c.fs.kernel_cache);
  CHECK(c.debug);
  CHECK(c.fs.debug);
  CHECK(c.connect.trace);
  CHECK(with("transport=rdma").connect.target.trtype == "rdma");
  CHECK(with("cache=none").cache.mode == cache::Mode::None);
}

TEST_CASE("-o forms, -f, -d, repeated -o, later wins") {
  Config c = parse({"-ocache=writeback", "-o", "cache=none,queue_size=32", "-f"});
  CHECK(c.cache.mode == cache::Mode::None);
  CHECK(c.connect.queue_size == 32);
  CHECK(c.foreground);
  Config d = parse({"-d"});
  CHECK(d.debug);
  CHECK(d.foreground);
  // -o before the positional arguments (as some helpers pass them).
  Config e = parse_command_line({"nvmefs", "-o", "ro", kUri, "/mnt"});
  CHECK(e.fs.read_only);
}

TEST_CASE("helper options are ignored, kernel flags passed through") {
  Config c = with("_netdev,nofail,auto,noauto,user,users,nouser,defaults,rw,x-systemd.automount,x-foo=bar,comment=x,"
                  "subtype=nvmefs,fsname=foo,noatime,nosuid,nodev,noexec");
  CHECK(c.fs.mount_options == std::vector<std::string>{"noatime", "nosuid", "nodev", "noexec"});
  CHECK(c.fs.fsname == kUri);
  CHECK_FALSE(c.fs.read_only);
}

TEST_CASE("discovery URI and the alternative -o form") {
  Config d = parse_command_line({"nvmefs", "nvme+tcp://192.168.1.5", "/mnt"});
  CHECK(d.discovery);
  CHECK(d.connect.target.trsvcid == "8009");
  CHECK(d.connect.target.subnqn == "nqn.2014-08.org.nvmexpress.discovery");
  // nqn= turns a discovery URI into a subsystem mount; the default port follows.
  Config s = parse_command_line({"nvmefs", "nvme+tcp://192.168.1.5", "/mnt", "-o", "nqn=nqn.2024-01.io.example:x"});
  CHECK_FALSE(s.discovery);
  CHECK(s.connect.target.trsvcid == "4420");
  // No URI at all: everything from -o (fstab style), the mount source shows the URI.
  Config o = parse_command_line({"nvmefs", "nvmefs", "/mnt", "-o", "traddr=10.1.1.1,trsvcid=4430,nqn=nqn.2024-01.io.example:y"});
  CHECK(o.connect.target.traddr == "10.1.1.1");
  CHECK(o.fs.fsname == "nvme+tcp://10.1.1.1:4430/nqn.2024-01.io.example:y");
}

TEST_CASE("help and version need no other arguments") {
  CHECK(parse_command_line({"nvmefs", "--help"}).help);
  CHECK(parse_command_line({"nvmefs", "-h"}).help);
  CHECK(parse_command_line({"nvmefs", "--version"}).version);
  std::string h = help_text();
  for (const char* name : {"transport=", "traddr=", "trsvcid=", "nqn=", "hostnqn=", "hostid=", "nr_io_queues=",
                           "queue_size=", "hdr_digest", "data_digest", "keep_alive_tmo=", "ctrl_loss_tmo=",
                           "reconnect_delay=", "cache=", "cache_size=", "cache_block=", "readahead=", "dirty_max=",
                           "dirty_expire=", "uid=", "gid=", "umask=", "allow_other", "default_permissions", "ro ",
                           "kernel_cache", "debug", "Exit codes"})
    CHECK_MESSAGE(h.find(name) != std::string::npos, name);
  CHECK(h.find("[256M]") != std::string::npos);
  CHECK(h.find("[writethrough]") != std::string::npos);
}

TEST_CASE("errors are one clear line") {
  CHECK(option_error("foo") == "unknown option 'foo'");
  CHECK(option_error("ro,bar=1") == "unknown option 'bar'");
  CHECK(option_error("cache_size=12Q") == "invalid value '12Q' for option 'cache_size' (expected a size like 4096, 64K, 256M, 1G)");
  CHECK(option_error("cache_size=") == "invalid value '' for option 'cache_size' (expected a size like 4096, 64K, 256M, 1G)");
  CHECK(option_error("cache_size") == "option 'cache_size' needs a value (cache_size=SIZE)");
  CHECK(option_error("ro=1") == "option 'ro' takes no value");
  CHECK(option_error("cache=fast") == "invalid value 'fast' for option 'cache' (expected none, writethrough or writeback)");
  CHECK(option_error("queue_size=8") == "invalid value '8' for option 'queue_size' (expected an integer from 16 to 1024)");
  CHECK(option_error("queue_size=abc") == "invalid value 'abc' for option 'queue_size' (expected an integer from 16 to 1024)");
  CHECK(option_error("ctrl_loss_tmo=-2") == "invalid value '-2' for option 'ctrl_loss_tmo' (expected -1 or a number of seconds)");
  CHECK(option_error("umask=089") == "invalid value '089' for option 'umask' (expected an octal mask like 022)");
  CHECK(option_error("trsvcid=70000") == "invalid value '70000' for option 'trsvcid' (expected an integer from 1 to 65535)");
  CHECK(option_error("transport=fc") == "invalid value 'fc' for option 'transport' (expected tcp or rdma)");
  CHECK(option_error("nqn=foo") == "invalid value 'foo' for option 'nqn' (expected an NQN starting with 'nqn.')");
  CHECK(option_error("uid=-1") == "invalid value '-1' for option 'uid' (expected an integer from 0 to 4294967294)");
  CHECK(error_of({"nvmefs", kUri}) ==
        "missing URI or mount point (usage: nvmefs nvme+tcp://HOST[:PORT]/SUBSYSNQN MOUNTPOINT [-o OPTIONS])");
  CHECK(error_of({"nvmefs", kUri, "/mnt", "/x"}) == "unexpected argument '/x'");
  CHECK(error_of({"nvmefs", kUri, "/mnt", "--bogus"}) == "unknown option '--bogus' (see nvmefs --help)");
  CHECK(error_of({"nvmefs", kUri, "/mnt", "-o"}) == "option '-o' needs an argument");
  CHECK(error_of({"nvmefs", "http://x/nqn.a", "/mnt"}) == "unsupported URI scheme 'http' (use nvme+tcp:// or nvme+rdma://)");
  CHECK(error_of({"nvmefs", "garbage", "/mnt"}) == "'garbage' is not an NVMe URI (expected nvme+tcp://HOST[:PORT]/SUBSYSNQN)");
  CHECK(error_of({"nvmefs", "nvme+tcp://h:99999/nqn.a", "/mnt"}).find("invalid port") == 0);
}
