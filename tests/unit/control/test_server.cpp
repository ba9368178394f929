// The control server and client over a real unix socket in a temporary directory.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "nvmefs/common/error.hpp"
#include "nvmefs/control/client.hpp"
#include "nvmefs/control/protocol.hpp"
#include "nvmefs/control/server.hpp"

using namespace nvmefs;
using namespace nvmefs::control;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nvmefs-ctl-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

json::Value echo_handler(const json::Value& req) {
  if (req.get("cmd").as_string() == "fail") throw Error("it failed");
  json::Value v = json::Value::object();
  v.set("cmd", req.get("cmd").as_string());
  return v;
}

json::Value cmd(const char* name) {
  json::Value v = json::Value::object();
  v.set("cmd", name);
  return v;
}

}  // namespace

TEST_CASE("answer: garbage and handler errors become {\"error\":...}") {
  Handler h = echo_handler;
  CHECK(ControlServer::answer(h, R"({"cmd":"x"})") == R"({"cmd":"x","ok":true})");
  CHECK(ControlServer::answer(h, "garbage").rfind(R"({"error":"malformed request: )", 0) == 0);
  CHECK(ControlServer::answer(h, R"({"cmd":1})").find("string \\\"cmd\\\"") != std::string::npos);
  CHECK(ControlServer::answer(h, "[]").rfind(R"({"error":)", 0) == 0);
  CHECK(ControlServer::answer(h, R"({"cmd":"fail"})") == R"({"error":"it failed"})");
}

TEST_CASE("server: requests, garbage, oversize, socket mode and removal") {
  TempDir dir;
  std::string path = dir.path + "/ctl/mnt-x.sock";
  {
    ControlServer server(path, echo_handler);
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((dir.path + "/ctl").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    ControlClient c(path);
    CHECK(c.call(cmd("stats")).get("cmd").as_string() == "stats");
    CHECK(c.call_raw("not json\n", std::chrono::seconds(5)).find("malformed request") != std::string::npos);
    // Two requests in one write, answered in order on the same connection.
    CHECK(c.call_raw("{\"cmd\":\"a\"}\n{\"cmd\":\"b\"}\n", std::chrono::seconds(5)) == R"({"cmd":"a","ok":true})");
    CHECK(c.call_raw("", std::chrono::seconds(5)) == R"({"cmd":"b","ok":true})");
    CHECK_THROWS_WITH_AS(c.call(cmd("fail")), "it failed", Error);

    ControlClient big(path);
    CHECK(big.call_raw(std::string(kMaxRequest + 100, 'x'), std::chrono::seconds(5)).find("longer than") !=
          std::string::npos);
    // The server still answers new connections.
    ControlClient after(path);
    CHECK(after.call(cmd("ping")).get("ok").as_bool());

    // A second server on the same path refuses to steal it.
    CHECK_THROWS_AS(ControlServer(path, echo_handler), Error);
  }
  struct stat st{};
  CHECK(::stat(path.c_str(), &st) != 0);  // removed by the destructor
}

TEST_CASE("client: missing and stale sockets give clear errors; a stale socket is replaced") {
  TempDir dir;
  std::string path = dir.path + "/stale.sock";
  CHECK_THROWS_WITH_AS(ControlClient{path}, ("no control socket at " + path).c_str(), Error);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);  // the file stays: a daemon that died
  CHECK_THROWS_WITH_AS(ControlClient{path}, ("no nvmefs daemon answers at " + path + " (stale socket?)").c_str(), Error);
  ControlServer server(path, echo_handler);
  CHECK(ControlClient(path).call(cmd("ping")).get("ok").as_bool());
}
