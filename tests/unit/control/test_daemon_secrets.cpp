// The nvmefs secret options (dhchap_*, tls_key*): files refused when group
// or world can read them, secrets never echoed in error messages.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "options.hpp"

using namespace nvmefs::daemon;

namespace {

const std::string kSecret = "DHHC-1:00:ia3DZSuIGyi4jUwsBeNPLZ3j7W56nJ2eGa0XLNazQmmiaVxa:";

Config parse(const std::string& opts) {
  return parse_command_line({"nvmefs", "nvme+tcp://127.0.0.1/nqn.2024-01.io.nvmefs:x", "/mnt", "-o", opts});
}

std::string write_file(const std::string& content, mode_t mode) {
  char tmpl[] = "/tmp/nvmefs-secret.XXXXXX";
  int fd = ::mkstemp(tmpl);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, content.data(), content.size()) == ssize_t(content.size()));
  ::close(fd);
  ::chmod(tmpl, mode);
  return tmpl;
}

std::string error_of(const std::string& opts) {
  try {
    parse(opts);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("inline secrets fill ConnectOptions; a malformed one is not echoed") {
  Config c = parse("dhchap_secret=" + kSecret + ",dhchap_ctrl_secret=" + kSecret);
  CHECK(c.connect.dhchap_secret == kSecret);
  CHECK(c.connect.dhchap_ctrl_secret == kSecret);
  std::string err = error_of("dhchap_secret=hunter2-password");
  CHECK(err.find("DHHC-1") != std::string::npos);
  CHECK(err.find("hunter2") == std::string::npos);
  CHECK(parse("tls").connect.tls);
  Config t = parse("tls_key=NVMeTLSkey-1:01:abc:");
  CHECK(t.connect.tls);
  CHECK(t.connect.tls_key == "NVMeTLSkey-1:01:abc:");
}

TEST_CASE("secret files: read when private, refused when group/world-readable or missing") {
  std::string good = write_file(kSecret + "\n", 0600);
  CHECK(parse("dhchap_secret_file=" + good).connect.dhchap_secret == kSecret);
  CHECK(parse("dhchap_ctrl_secret_file=" + good).connect.dhchap_ctrl_secret == kSecret);

  std::string open = write_file(kSecret, 0644);
  std::string err = error_of("dhchap_secret_file=" + open);
  CHECK(err.find("readable by group or others") != std::string::npos);
  CHECK(err.find(kSecret) == std::string::npos);

  std::string wrong = write_file("NVMeTLSkey-1:01:abc:", 0600);
  err = error_of("dhchap_secret_file=" + wrong);
  CHECK(err.find("DHHC-1") != std::string::npos);
  CHECK(err.find("NVMeTLSkey") == std::string::npos);
  Config t = parse("tls_key_file=" + wrong);
  CHECK(t.connect.tls);
  CHECK(t.connect.tls_key == "NVMeTLSkey-1:01:abc:");

  CHECK(error_of("tls_key_file=/nonexistent/key").find("/nonexistent/key") != std::string::npos);
  CHECK(error_of("dhchap_secret_file=").find("dhchap_secret_file") != std::string::npos);
  for (const auto& f : {good, open, wrong}) ::unlink(f.c_str());
}

TEST_CASE("options a mount helper must ignore are ignored") {
  Config c = parse("_netdev,nofail,auto,noauto,user,users,defaults,rw,x-systemd.automount,x-systemd.mount-timeout=30,cache=none");
  CHECK(c.cache.mode == nvmefs::cache::Mode::None);
}
