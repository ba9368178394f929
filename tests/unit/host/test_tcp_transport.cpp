// The TCP queue pair against a scripted controller over a socketpair.
#include <doctest/doctest.h>

#include <memory>

#include "fake_peer.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/transport/tcp.hpp"

using namespace nvmefs;
using transport::DataDir;
using test::tcp::PduType;

namespace {

struct Fixture {
  test::Peer peer;
  test::Events events;
  std::unique_ptr<transport::QueuePair> qp;
  wire::tcp::IcReq icreq;

  // ICResp is queued before the host connects, so the exchange needs no thread.
  explicit Fixture(uint32_t maxh2cdata = 4096, bool digests = false, bool answer_digests = true) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    peer.fd = sv[1];
    wire::tcp::IcResp resp;
    resp.maxh2cdata = maxh2cdata;
    resp.digests = {digests && answer_digests, digests && answer_digests};
    uint8_t b[wire::tcp::kMaxHeaderArea];
    peer.write_all(b, wire::tcp::encode_icresp(resp, b));
    transport::TcpParams p;
    p.nr_cids = 8;
    p.header_digest = p.data_digest = digests;
    p.max_inline_data = 4096;
    qp = transport::tcp_over_socket(sv[0], "fake-peer", p, 2000);
    peer.digests = resp.digests;
    // The ICReq the host sent.
    uint8_t req[wire::tcp::kIcReqHlen];
    REQUIRE(peer.read_all(req, sizeof req));
    REQUIRE(wire::tcp::decode_icreq({req, sizeof req}, icreq) == wire::tcp::PduError::Ok);
    qp->start(&events);
  }
  ~Fixture() {
    if (qp) qp->close();
    ::close(peer.fd);
  }
  // Expects an H2CTermReq from the host and the connection reported broken.
  void expect_termination(wire::tcp::TermFes fes) {
    wire::tcp::CommonHeader ch;
    std::vector<uint8_t> hdr, data;
    REQUIRE(peer.read_pdu(ch, hdr, data));
    CHECK(ch.type == PduType::H2CTermReq);
    hdr.insert(hdr.end(), data.begin(), data.end());
    wire::tcp::TermReq term;
    REQUIRE(wire::tcp::decode_term_req(hdr, term) == wire::tcp::PduError::Ok);
    CHECK(term.fes == fes);
    REQUIRE(events.wait_broken());
    CHECK(events.err == -EPROTO);
  }
};

wire::Sqe read_cmd(uint16_t cid) {
  auto s = wire::cmd::read(1, 0, 2);
  s.set_cid(cid);
  return s;
}

}  // namespace

TEST_CASE("ICReq asks for PFV 0, HPDA 0 and the digests; ICResp values are used") {
  Fixture f(8192, true);
  CHECK(f.icreq.pfv == 0);
  CHECK(f.icreq.hpda == 0);
  CHECK(f.icreq.digests.header);
  CHECK(f.icreq.digests.data);
  CHECK(f.qp->max_h2c_data() == 8192);
  CHECK(f.qp->header_digest());
}

TEST_CASE("a controller refusing the requested digests fails the connect with one line") {
  CHECK_THROWS_AS(Fixture(4096, true, false), Error);
}

TEST_CASE("small writes go in-capsule with an SGL Data Block Offset descriptor") {
  std::vector<uint8_t> buf(1024, 0x5C);
  Fixture f(4096, true);
  auto s = wire::cmd::write(1, 7, 2);
  s.set_cid(3);
  REQUIRE(f.qp->send_command(s, buf.data(), 1024, DataDir::ToController) == 0);
  wire::tcp::CommonHeader ch;
  std::vector<uint8_t> hdr, data;
  REQUIRE(f.peer.read_pdu(ch, hdr, data));
  REQUIRE(ch.type == PduType::CapsuleCmd);
  wire::Sqe got;
  REQUIRE(wire::tcp::decode_capsule_cmd(hdr, got) == wire::tcp::PduError::Ok);
  CHECK(got.sgl_type() == wire::kSglDataBlockOffset);
  CHECK(got.sgl_length() == 1024);
  CHECK(data == buf);
  f.peer.send_resp(3);
  REQUIRE(f.events.wait_cqes(1));
  CHECK(f.events.cqes[0].cid() == 3);
  CHECK(f.events.cqes[0].status() == 0);
}

TEST_CASE("large writes use a Transport SGL and answer R2T with H2CData split by MAXH2CDATA") {
  // The data must outlive the queue pair: the command never completes here,
  // so its receive thread may still be inside sendmsg() on it until f goes.
  std::vector<uint8_t> buf(10000);
  Fixture f(4096);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = uint8_t(i * 31);
  auto s = wire::cmd::write(1, 0, 20);
  s.set_cid(5);
  REQUIRE(f.qp->send_command(s, buf.data(), uint32_t(buf.size()), DataDir::ToController) == 0);
  wire::tcp::CommonHeader ch;
  std::vector<uint8_t> hdr, data;
  REQUIRE(f.peer.read_pdu(ch, hdr, data));
  wire::Sqe got;
  REQUIRE(wire::tcp::decode_capsule_cmd(hdr, got) == wire::tcp::PduError::Ok);
  CHECK(got.sgl_type() == wire::kSglTransportDataBlock);
  CHECK(data.empty());

  wire::tcp::R2t r2t{5, 77, 0, uint32_t(buf.size())};
  uint8_t b[wire::tcp::kMaxHeaderArea];
  f.peer.write_all(b, wire::tcp::encode_r2t(r2t, {}, b));
  std::vector<uint8_t> received;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(f.peer.read_pdu(ch, hdr, data));
    REQUIRE(ch.type == PduType::H2CData);
    wire::tcp::DataHeader dh;
    REQUIRE(wire::tcp::decode_data(hdr, dh) == wire::tcp::PduError::Ok);
    CHECK(dh.ttag == 77);
    CHECK(dh.datao == received.size());
    CHECK(dh.datal <= 4096);
    CHECK(bool(dh.flags & wire::tcp::kFlagLastPdu) == (i == 2));
    received.insert(received.end(), data.begin(), data.end());
  }
  CHECK(received == buf);
}

TEST_CASE("C2HData lands in the buffer; SUCCESS completes the command without CapsuleResp") {
  std::vector<uint8_t> buf(1024, 0);
  Fixture f;
  auto s = read_cmd(2);
  REQUIRE(f.qp->send_command(s, buf.data(), 1024, DataDir::FromController) == 0);
  std::vector<uint8_t> first(512, 0xAB), second(512, 0xCD);
  f.peer.send_c2h(2, 0, first, 0);
  f.peer.send_c2h(2, 512, second, wire::tcp::kFlagLastPdu | wire::tcp::kFlagSuccess);
  REQUIRE(f.events.wait_cqes(1));
  CHECK(f.events.cqes[0].cid() == 2);
  CHECK(f.events.cqes[0].status() == 0);
  CHECK(buf[0] == 0xAB);
  CHECK(buf[1023] == 0xCD);
}

TEST_CASE("C2HTermReq fails the connection with the controller's reason") {
  Fixture f;
  wire::tcp::TermReq t{wire::tcp::TermFes::PduSequenceError, 0, {}};
  uint8_t b[wire::tcp::kMaxHeaderArea + wire::tcp::kMaxTermReqData];
  f.peer.write_all(b, wire::tcp::encode_term_req(PduType::C2HTermReq, t, b));
  REQUIRE(f.events.wait_broken());
  CHECK(f.events.why.find("terminated the connection: PDU sequence error") != std::string::npos);
  auto s = read_cmd(1);
  uint8_t buf[1024];
  CHECK(f.qp->send_command(s, buf, 1024, DataDir::FromController) == -ENOTCONN);
}

TEST_CASE("an invalid PDU from the controller gets H2CTermReq and a clean failure") {
  Fixture f;
  uint8_t junk[8] = {0x42, 0, 8, 0, 8, 0, 0, 0};  // unknown PDU type
  f.peer.write_all(junk, sizeof junk);
  f.expect_termination(wire::tcp::term_fes_for(wire::tcp::PduError::UnknownType));
}

TEST_CASE("a completion for a command id out of range or not in flight is a protocol error") {
  Fixture f;
  f.peer.send_resp(999);
  f.expect_termination(wire::tcp::TermFes::InvalidHeaderField);
}

TEST_CASE("C2HData beyond the command's buffer is rejected before any byte is written") {
  std::vector<uint8_t> buf(1024, 0);
  Fixture f;
  auto s = read_cmd(4);
  REQUIRE(f.qp->send_command(s, buf.data(), 1024, DataDir::FromController) == 0);
  wire::tcp::CommonHeader ch;
  std::vector<uint8_t> hdr, data;
  REQUIRE(f.peer.read_pdu(ch, hdr, data));  // the Read capsule
  f.peer.send_c2h(4, 768, std::vector<uint8_t>(512, 0xEE), wire::tcp::kFlagLastPdu);
  f.expect_termination(wire::tcp::TermFes::DataTransferOutOfRange);
  CHECK(buf[1023] == 0);
}

TEST_CASE("the controller closing the connection is reported once, as -ENOTCONN") {
  Fixture f;
  ::shutdown(f.peer.fd, SHUT_RDWR);
  REQUIRE(f.events.wait_broken());
  CHECK(f.events.err == -ENOTCONN);
  CHECK(f.events.why.find("closed the connection") != std::string::npos);
}
