// TLS 1.3 PSK streams (transport/tls.hpp) over a socketpair: handshake, data
// both ways at once, and the failures that must be fast and clear.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "nvmefs/common/error.hpp"
#include "nvmefs/transport/tls.hpp"

using namespace nvmefs;
using namespace nvmefs::transport;

namespace {

constexpr const char* kKey = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr const char* kKey384 =
    "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:";
constexpr uint32_t kTimeoutMs = 3000;

struct Pair {
  int host = -1, ctrl = -1;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    host = fds[0];
    ctrl = fds[1];
  }
  ~Pair() {
    ::close(host);
    ::close(ctrl);
  }
};

struct Streams {
  std::unique_ptr<ByteStream> host, ctrl;
};

Streams connect_pair(const Pair& p, const char* host_key, const char* ctrl_key) {
  const ConfiguredPsk ckey = parse_tls_key(ctrl_key);
  auto server = std::async(std::launch::async, [&] { return tls_server_stream(p.ctrl, ckey, "host", kTimeoutMs); });
  const TlsPsk psk = host_tls_psk(parse_tls_key(host_key), "nqn.2014-08.org.example:host", "nqn.2014-08.org.example:sub");
  Streams s;
  s.host = tls_client_stream(p.host, psk, "ctrl", kTimeoutMs);
  s.ctrl = server.get();
  return s;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 31 + seed + (i >> 12));
  return v;
}

// One PDU-like write: small header, large body, 4-byte trailer, as three iovecs.
int send_pdu(ByteStream& s, std::vector<uint8_t>& body) {
  uint8_t hdr[24], trailer[4] = {1, 2, 3, 4};
  for (size_t i = 0; i < sizeof hdr; ++i) hdr[i] = uint8_t(i);
  iovec iov[3] = {{hdr, sizeof hdr}, {body.data(), body.size()}, {trailer, sizeof trailer}};
  return s.write_all(iov, 3);
}

bool receive_pdu(ByteStream& s, const std::vector<uint8_t>& expect) {
  uint8_t hdr[24], trailer[4];
  std::vector<uint8_t> body(expect.size());
  iovec iov[3] = {{hdr, sizeof hdr}, {body.data(), body.size()}, {trailer, sizeof trailer}};
  if (s.read_all(iov, 3) != 0) return false;
  for (size_t i = 0; i < sizeof hdr; ++i)
    if (hdr[i] != i) return false;
  return body == expect && trailer[0] == 1 && trailer[3] == 4;
}

template <typename F>
std::string error_of(F f, double& seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    f();
  } catch (const Error& e) {
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return e.what();
  }
  seconds = 0;
  return "(no error)";
}

}  // namespace

TEST_CASE("TLS stream: PDUs of every size arrive intact, both directions at once") {
  for (const char* key : {kKey, kKey384}) {
    CAPTURE(std::string(key));
    Pair p;
    Streams s = connect_pair(p, key, key);
    for (size_t n : {size_t(1), size_t(4096), size_t(16384 - 24), size_t(16384), size_t(70000), size_t(1) << 20}) {
      CAPTURE(n);
      auto down = pattern(n, 7), up = pattern(n, 9);
      // Both write before either reads: needs the reader and writer to run concurrently.
      auto h = std::async(std::launch::async, [&] { return send_pdu(*s.host, up); });
      auto c = std::async(std::launch::async, [&] { return send_pdu(*s.ctrl, down); });
      CHECK(receive_pdu(*s.host, down));
      CHECK(receive_pdu(*s.ctrl, up));
      CHECK(h.get() == 0);
      CHECK(c.get() == 0);
    }
    // The peer going away reads as a closed connection, not a hang.
    s.ctrl.reset();
    ::shutdown(p.ctrl, SHUT_RDWR);
    uint8_t b;
    CHECK(s.host->read_all(&b, 1) == -ECONNRESET);
  }
}

TEST_CASE("TLS stream: a wrong key fails the handshake on both sides, fast") {
  Pair p;
  double seconds = 0;
  const ConfiguredPsk ckey = parse_tls_key(kKey);
  auto server = std::async(std::launch::async, [&] {
    double s2 = 0;
    return error_of([&] { tls_server_stream(p.ctrl, ckey, "host", kTimeoutMs); }, s2);
  });
  const ConfiguredPsk other = parse_tls_key(format_tls_key(1, std::vector<uint8_t>(32, 0x42)));
  const TlsPsk psk = host_tls_psk(other, "nqn.h", "nqn.s");
  const std::string host_error = error_of([&] { tls_client_stream(p.host, psk, "ctrl", kTimeoutMs); }, seconds);
  CHECK(host_error.find("ctrl: TLS handshake failed") != std::string::npos);
  CHECK(host_error.find("wrong PSK?") != std::string::npos);
  CHECK(seconds < 2.0);
  const std::string ctrl_error = server.get();
  CHECK(ctrl_error.find("no PSK for identity 'NVMe1R01 nqn.h nqn.s'") != std::string::npos);
}

TEST_CASE("TLS server: a plain NVMe/TCP ICReq is turned away at once") {
  Pair p;
  uint8_t icreq[128] = {0x00, 0x00, 128, 0, 128, 0, 0, 0};
  REQUIRE(::write(p.host, icreq, sizeof icreq) == ssize_t(sizeof icreq));
  double seconds = 0;
  const ConfiguredPsk ckey = parse_tls_key(kKey);
  const std::string e = error_of([&] { tls_server_stream(p.ctrl, ckey, "host", kTimeoutMs); }, seconds);
  CHECK(e == "host: not a TLS ClientHello (first byte 0x00: a plain NVMe/TCP ICReq) on a TLS-only port; closing");
  CHECK(seconds < 1.0);
}

TEST_CASE("TLS client: a peer answering with NVMe/TCP bytes is not speaking TLS") {
  Pair p;
  std::thread plain([&] {
    uint8_t hello[512];
    (void)::read(p.ctrl, hello, sizeof hello);                    // the ClientHello
    uint8_t termreq[24] = {0x03, 0x00, 24, 0, 24, 0, 0, 0};        // a C2HTermReq
    (void)::write(p.ctrl, termreq, sizeof termreq);
    ::shutdown(p.ctrl, SHUT_WR);
  });
  double seconds = 0;
  const TlsPsk psk = host_tls_psk(parse_tls_key(kKey), "nqn.h", "nqn.s");
  const std::string e = error_of([&] { tls_client_stream(p.host, psk, "ctrl", kTimeoutMs); }, seconds);
  plain.join();
  CHECK(e.find("ctrl: peer is not speaking TLS (first byte 0x03") != std::string::npos);
  CHECK(seconds < 1.0);
}

TEST_CASE("TLS client: a silent peer times out at the handshake deadline") {
  Pair p;
  double seconds = 0;
  const TlsPsk psk = host_tls_psk(parse_tls_key(kKey), "nqn.h", "nqn.s");
  const std::string e = error_of([&] { tls_client_stream(p.host, psk, "ctrl", 300); }, seconds);
  CHECK(e == "ctrl: TLS handshake timed out after 300 ms");
  CHECK(seconds >= 0.25);
  CHECK(seconds < 2.0);
}
