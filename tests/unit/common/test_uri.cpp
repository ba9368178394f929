#include <doctest/doctest.h>

#include "nvmefs/common/uri.hpp"

using nvmefs::parse_nvme_uri;

namespace {

constexpr const char* kDisc = "nqn.2014-08.org.nvmexpress.discovery";

// Parses a URI that must be rejected; returns the error line.
std::string reject(std::string_view uri) {
  std::string err;
  auto u = parse_nvme_uri(uri, err);
  CHECK_FALSE(u.has_value());
  CHECK_FALSE(err.empty());
  CHECK(err.find('\n') == std::string::npos);
  return err;
}

nvmefs::NvmeUri accept(std::string_view uri) {
  std::string err;
  auto u = parse_nvme_uri(uri, err);
  INFO(err);
  REQUIRE(u.has_value());
  return *u;
}

}  // namespace

TEST_CASE("uri: IPv4 with NQN, default I/O port") {
  auto u = accept("nvme+tcp://192.168.1.10/nqn.2024-01.io.example:disk1");
  CHECK(u.tid.trtype == "tcp");
  CHECK(u.tid.traddr == "192.168.1.10");
  CHECK(u.tid.trsvcid == "4420");
  CHECK(u.tid.subnqn == "nqn.2024-01.io.example:disk1");
  CHECK_FALSE(u.discovery);
  CHECK(u.nsid == 0);
}

TEST_CASE("uri: discovery without NQN, default discovery port") {
  auto u = accept("nvme+tcp://storage.example.com");
  CHECK(u.tid.traddr == "storage.example.com");
  CHECK(u.tid.trsvcid == "8009");
  CHECK(u.tid.subnqn == kDisc);
  CHECK(u.discovery);
  auto s = accept("nvme+tcp://host/");
  CHECK(s.discovery);
  auto d = accept(std::string("nvme+tcp://host/") + kDisc);
  CHECK(d.discovery);
  CHECK(d.tid.trsvcid == "8009");
}

TEST_CASE("uri: explicit ports, IPv6, NSID, rdma") {
  auto u = accept("nvme+tcp://10.0.0.1:4421/nqn.2024-01.io.example:a/7");
  CHECK(u.tid.trsvcid == "4421");
  CHECK(u.tid.subnqn == "nqn.2024-01.io.example:a");
  CHECK(u.nsid == 7);
  auto v6 = accept("nvme+tcp://[fe80::1]:4420/nqn.2024-01.io.example:a");
  CHECK(v6.tid.traddr == "fe80::1");
  CHECK(v6.tid.trsvcid == "4420");
  auto v6d = accept("nvme+tcp://[::1]");
  CHECK(v6d.tid.traddr == "::1");
  CHECK(v6d.tid.trsvcid == "8009");
  auto r = accept("nvme+rdma://h:1234/nqn.x");
  CHECK(r.tid.trtype == "rdma");
  CHECK(r.tid.trsvcid == "1234");
  CHECK(accept("nvme+rdma://h").tid.trsvcid == "4420");  // NVMe/RDMA discovery shares 4420
  CHECK(nvmefs::format_nvme_uri(v6.tid) == "nvme+tcp://[fe80::1]:4420/nqn.2024-01.io.example:a");
  CHECK(nvmefs::format_nvme_uri(v6d.tid) == "nvme+tcp://[::1]:8009");
}

TEST_CASE("uri: rejected") {
  CHECK(reject("http://host/nqn.x").find("unsupported URI scheme 'http'") != std::string::npos);
  CHECK(reject("host/nqn.x").find("not an NVMe URI") != std::string::npos);
  CHECK(reject("nvme+tcp://host:0/nqn.x").find("invalid port") != std::string::npos);
  CHECK(reject("nvme+tcp://host:65536/nqn.x").find("invalid port") != std::string::npos);
  CHECK(reject("nvme+tcp://host:44a/nqn.x").find("invalid port") != std::string::npos);
  CHECK(reject("nvme+tcp://host:/nqn.x").find("invalid port") != std::string::npos);
  CHECK(reject("nvme+tcp://[::1]:/nqn.x").find("invalid port") != std::string::npos);
  CHECK(reject("nvme+tcp:///nqn.x").find("missing host") != std::string::npos);
  CHECK(reject("nvme+tcp://").find("missing host") != std::string::npos);
  CHECK(reject("nvme+tcp://:4420/nqn.x").find("missing host") != std::string::npos);
  CHECK(reject("nvme+tcp://[]/nqn.x").find("missing host") != std::string::npos);
  CHECK(reject("nvme+tcp://[::1/nqn.x").find("unterminated IPv6") != std::string::npos);
  CHECK(reject("nvme+tcp://[::1]x/nqn.x").find("unexpected text") != std::string::npos);
  CHECK(reject("nvme+tcp://[::g]/nqn.x").find("invalid IPv6") != std::string::npos);
  CHECK(reject("nvme+tcp://ho st/nqn.x").find("invalid host") != std::string::npos);
  CHECK(reject("nvme+tcp://host/subsys1").find("does not start with 'nqn.'") != std::string::npos);
  CHECK(reject("nvme+tcp://host/nqn.x/0").find("invalid namespace ID") != std::string::npos);
  CHECK(reject("nvme+tcp://host/nqn.x/abc").find("invalid namespace ID") != std::string::npos);
  CHECK(reject("nvme+tcp://host/nqn.x/4294967295").find("invalid namespace ID") != std::string::npos);
  CHECK(reject("nvme+tcp://host/nqn.x/1/2").find("invalid namespace ID") != std::string::npos);
  CHECK(reject("nvme+tcp://host/nqn." + std::string(220, 'a')).find("longer than 223") != std::string::npos);
}
