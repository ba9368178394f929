#include <doctest/doctest.h>

#include <string>

#include "nvmefs/control/protocol.hpp"

using namespace nvmefs::control;

TEST_CASE("socket names escape mount points like systemd-escape --path") {
  CHECK(escape_path("/") == "-");
  CHECK(escape_path("/mnt/x") == "mnt-x");
  CHECK(escape_path("//mnt//x/") == "mnt-x");
  CHECK(escape_path("/mnt/my disk") == "mnt-my\\x20disk");
  CHECK(escape_path("/tmp/a-b") == "tmp-a\\x2db");
  CHECK(escape_path("/.hidden/x.y") == "\\x2ehidden-x.y");
  CHECK(escape_path("/a:b_c") == "a:b_c");
}

TEST_CASE("socket paths fit in sun_path") {
  CHECK(socket_path("/run/nvmefs/ctl", "/mnt/x") == "/run/nvmefs/ctl/mnt-x.sock");
  std::string long_mp = "/" + std::string(200, 'a');
  std::string p = socket_path("/run/nvmefs/ctl", long_mp);
  CHECK(p.size() < 108);
  CHECK(p.rfind("/run/nvmefs/ctl/h-", 0) == 0);
  CHECK(p == socket_path("/run/nvmefs/ctl", long_mp));
  CHECK(p != socket_path("/run/nvmefs/ctl", long_mp + "b"));
}
