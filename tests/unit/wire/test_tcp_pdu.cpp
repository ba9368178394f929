#include <doctest/doctest.h>

#include <array>
#include <numeric>
#include <vector>

#include "pdu_receive.hpp"

using namespace nvmefs::wire;
using namespace nvmefs::wire::tcp;
using testing::Received;
using testing::receive_pdu;
using testing::whole_pdu;

namespace {

using Area = std::array<uint8_t, kMaxHeaderArea>;

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), uint8_t(7));
  return v;
}

const Digests kAllDigestCombos[] = {{false, false}, {true, false}, {false, true}, {true, true}};

// A valid PDU of each kind, for the negative tests to break.
std::vector<uint8_t> sample_c2h_data(Digests d, uint8_t hpda = 0, uint32_t len = 16) {
  Area a;
  DataHeader h{.cccid = 1, .ttag = 0, .datao = 0, .datal = len, .flags = kFlagLastPdu};
  size_t n = encode_c2h_data(h, d, hpda, a);
  return whole_pdu(std::span(a).first(n), pattern(len));
}

std::vector<uint8_t> sample_capsule_resp(Digests d) {
  Area a;
  Cqe c;
  c.set_cid(9);
  return whole_pdu(std::span(a).first(encode_capsule_resp(c, d, a)));
}

std::vector<uint8_t> sample_r2t(Digests d, uint32_t r2tl = 4096) {
  Area a;
  return whole_pdu(std::span(a).first(encode_r2t(R2t{.cccid = 3, .ttag = 4, .r2to = 0, .r2tl = r2tl}, d, a)));
}

std::vector<uint8_t> sample_icreq(IcReq r = {}) {
  Area a;
  return whole_pdu(std::span(a).first(encode_icreq(r, a)));
}

std::vector<uint8_t> sample_icresp(IcResp r = {.pfv = 0, .cpda = 0, .digests = {}, .maxh2cdata = 131072}) {
  Area a;
  return whole_pdu(std::span(a).first(encode_icresp(r, a)));
}

// Rewrites the header digest after a test changed header bytes, so the
// field under test (not the digest) is what gets rejected.
void refresh_hdgst(std::vector<uint8_t>& pdu) {
  if (pdu[1] & kFlagHdgst) put_le32(&pdu[pdu[2]], crc32c(pdu.data(), pdu[2]));
}

PduError host_gets(const std::vector<uint8_t>& pdu, Digests d = {}, uint8_t hpda = 0) {
  Received r;
  return receive_pdu(pdu, Receiver::Host, d, hpda, r);
}

PduError controller_gets(const std::vector<uint8_t>& pdu, Digests d = {}, uint8_t cpda = 0) {
  Received r;
  return receive_pdu(pdu, Receiver::Controller, d, cpda, r);
}

}  // namespace

TEST_CASE("pdu: ICReq / ICResp round trip") {
  IcReq q{.pfv = 0, .hpda = 3, .digests = {true, false}, .maxr2t = 15};
  auto pdu = sample_icreq(q);
  REQUIRE(pdu.size() == 128);
  CHECK(pdu[0] == 0x00);
  CHECK(pdu[2] == 128);
  CHECK(get_le32(&pdu[4]) == 128);
  CHECK(pdu[11] == 0x01);  // DGST: HDGST_ENABLE
  Received r;
  REQUIRE(receive_pdu(pdu, Receiver::Controller, {}, 0, r) == PduError::Ok);
  CHECK(r.icreq.hpda == 3);
  CHECK(r.icreq.digests.header);
  CHECK_FALSE(r.icreq.digests.data);
  CHECK(r.icreq.maxr2t == 15);

  IcResp p{.pfv = 0, .cpda = 1, .digests = {true, true}, .maxh2cdata = 65536};
  auto resp = sample_icresp(p);
  CHECK(resp[11] == 0x03);
  REQUIRE(receive_pdu(resp, Receiver::Host, {}, 0, r) == PduError::Ok);
  CHECK(r.icresp.cpda == 1);
  CHECK(r.icresp.digests.header);
  CHECK(r.icresp.digests.data);
  CHECK(r.icresp.maxh2cdata == 65536);
}

TEST_CASE("pdu: TermReq round trip, both directions") {
  auto offending = sample_c2h_data({true, true});
  for (PduType type : {PduType::H2CTermReq, PduType::C2HTermReq}) {
    Area a;
    TermReq t{.fes = TermFes::HeaderDigestError, .fei = 0x12345678, .pdu_header = std::span(offending).first(28)};
    size_t n = encode_term_req(type, t, a);
    REQUIRE(n == kTermReqHlen + 28);
    auto pdu = whole_pdu(std::span(a).first(n));
    Received r;
    Receiver who = type == PduType::H2CTermReq ? Receiver::Controller : Receiver::Host;
    // TermReq never carries digests, even when they were negotiated.
    REQUIRE(receive_pdu(pdu, who, {true, true}, 0, r) == PduError::Ok);
    CHECK(r.term.fes == TermFes::HeaderDigestError);
    CHECK(r.term.fei == 0x12345678);
    REQUIRE(r.term.pdu_header.size() == 28);
    CHECK(std::equal(r.term.pdu_header.begin(), r.term.pdu_header.end(), offending.begin()));
  }
  // The copied header is capped so that PLEN <= 152.
  std::vector<uint8_t> big(300, 0xAB);
  Area a;
  CHECK(encode_term_req(PduType::C2HTermReq, TermReq{.fes = TermFes::InvalidHeaderField, .fei = 0, .pdu_header = big}, a) ==
        kMaxTermReqPlen);
  CHECK(encode_term_req(PduType::CapsuleCmd, TermReq{}, a) == 0);
}

TEST_CASE("pdu: CapsuleCmd round trip, with and without in-capsule data") {
  Sqe sqe = cmd::write(1, 0x10, 8);
  sqe.set_cid(0x42);
  sqe.set_sgl(0, 4096, kSglDataBlockOffset);
  for (Digests d : kAllDigestCombos) {
    for (uint8_t cpda : {uint8_t(0), uint8_t(1), uint8_t(7), uint8_t(31)}) {
      for (uint32_t len : {0u, 1u, 4096u}) {
        CAPTURE(d.header);
        CAPTURE(d.data);
        CAPTURE(cpda);
        CAPTURE(len);
        Area a;
        size_t n = encode_capsule_cmd(sqe, len, d, cpda, a);
        auto data = pattern(len);
        auto pdu = whole_pdu(std::span(a).first(n), data);
        size_t expect_hdr = 72 + (d.header ? 4 : 0);
        if (len == 0) {
          CHECK(n == expect_hdr);
          CHECK(pdu[3] == 0);  // PDO 0 without data
        } else {
          CHECK(pdu[3] >= expect_hdr);
          if (cpda) CHECK(pdu[3] % ((cpda + 1) * 4) == 0);
        }
        CHECK(get_le32(&pdu[4]) == pdu.size());
        CHECK(bool(pdu[1] & kFlagDdgst) == (d.data && len > 0));
        Received r;
        REQUIRE(receive_pdu(pdu, Receiver::Controller, d, cpda, r) == PduError::Ok);
        CHECK(std::equal(r.sqe.b, r.sqe.b + 64, sqe.b));
        CHECK(r.data.size() == len);
        CHECK(std::equal(r.data.begin(), r.data.end(), data.begin()));
      }
    }
  }
}

TEST_CASE("pdu: CapsuleResp and R2T round trip") {
  for (Digests d : kAllDigestCombos) {
    Cqe c;
    c.set_cid(0x77);
    c.set_sqhd(5);
    c.set_status(status::kInvalidField | status::kDnrBit);
    Area a;
    auto pdu = whole_pdu(std::span(a).first(encode_capsule_resp(c, d, a)));
    CHECK(pdu.size() == 24u + (d.header ? 4 : 0));
    CHECK((pdu[1] & kFlagDdgst) == 0);
    Received r;
    REQUIRE(receive_pdu(pdu, Receiver::Host, d, 0, r) == PduError::Ok);
    CHECK(r.cqe.cid() == 0x77);
    CHECK(r.cqe.status() == (status::kInvalidField | status::kDnrBit));

    R2t t{.cccid = 0x77, .ttag = 0x1234, .r2to = 8192, .r2tl = 65536};
    pdu = whole_pdu(std::span(a).first(encode_r2t(t, d, a)));
    REQUIRE(receive_pdu(pdu, Receiver::Host, d, 0, r) == PduError::Ok);
    CHECK(r.r2t.cccid == 0x77);
    CHECK(r.r2t.ttag == 0x1234);
    CHECK(r.r2t.r2to == 8192);
    CHECK(r.r2t.r2tl == 65536);
  }
}

TEST_CASE("pdu: H2CData / C2HData round trip") {
  for (Digests d : kAllDigestCombos) {
    for (uint8_t pda : {uint8_t(0), uint8_t(3), uint8_t(31)}) {
      CAPTURE(d.header);
      CAPTURE(d.data);
      CAPTURE(pda);
      auto data = pattern(1000);
      Area a;
      DataHeader h{.cccid = 5, .ttag = 6, .datao = 4096, .datal = 1000, .flags = kFlagLastPdu};
      auto pdu = whole_pdu(std::span(a).first(encode_h2c_data(h, d, pda, a)), data);
      Received r;
      REQUIRE(receive_pdu(pdu, Receiver::Controller, d, pda, r) == PduError::Ok);
      CHECK(r.data_hdr.cccid == 5);
      CHECK(r.data_hdr.ttag == 6);
      CHECK(r.data_hdr.datao == 4096);
      CHECK(r.data_hdr.datal == 1000);
      CHECK(r.data_hdr.flags == kFlagLastPdu);
      CHECK(std::equal(r.data.begin(), r.data.end(), data.begin(), data.end()));

      h.flags = kFlagLastPdu | kFlagSuccess;
      pdu = whole_pdu(std::span(a).first(encode_c2h_data(h, d, pda, a)), data);
      CHECK(get_le16(&pdu[10]) == 0);  // TTAG is reserved in C2HData
      REQUIRE(receive_pdu(pdu, Receiver::Host, d, pda, r) == PduError::Ok);
      CHECK(r.data_hdr.cccid == 5);
      CHECK(r.data_hdr.flags == (kFlagLastPdu | kFlagSuccess));
      CHECK(std::equal(r.data.begin(), r.data.end(), data.begin(), data.end()));
    }
  }
}

TEST_CASE("pdu: helpers") {
  CHECK(compute_pdo(24, false, 0) == 24);
  CHECK(compute_pdo(24, true, 0) == 28);
  CHECK(compute_pdo(72, true, 0) == 76);
  CHECK(compute_pdo(24, false, 1) == 24);
  CHECK(compute_pdo(24, true, 1) == 32);
  CHECK(compute_pdo(72, false, 31) == 128);
  CHECK(compute_pdo(72, true, 31) == 128);
  auto pdu = sample_c2h_data({true, true}, 0, 10);
  CommonHeader ch;
  REQUIRE(parse_common_header(pdu, Receiver::Host, {true, true}, 1u << 20, ch) == PduError::Ok);
  CHECK(header_area_len(ch) == 28);
  CHECK(data_offset(ch) == 28);
  CHECK(data_length(ch) == 10);
  CHECK(has_data_digest(ch));
  CHECK(pdu_type_name(PduType::R2T) == "R2T");
  CHECK(pdu_error_name(PduError::BadPdo) == "invalid PDO");
  CHECK(term_fes_for(PduError::HeaderDigest) == TermFes::HeaderDigestError);
  CHECK(term_fes_for(PduError::BadHlen) == TermFes::InvalidHeaderField);
  CHECK(term_fes_for(PduError::UnknownType) == TermFes::InvalidHeaderField);
  CHECK(term_fei_for(PduError::BadHlen) == 2);
  CHECK(term_fei_for(PduError::BadPlen) == 4);
  CHECK(term_fei_for(PduError::UnknownType) == 0);
}

TEST_CASE("pdu reject: short buffers") {
  auto pdu = sample_capsule_resp({});
  CommonHeader ch;
  CHECK(parse_common_header(std::span(pdu).first(7), Receiver::Host, {}, 4096, ch) == PduError::ShortBuffer);
  CHECK(parse_common_header({}, Receiver::Host, {}, 4096, ch) == PduError::ShortBuffer);
  Cqe c;
  CHECK(decode_capsule_resp(std::span(pdu).first(23), c) == PduError::ShortBuffer);
  auto hd = sample_capsule_resp({true, false});
  CHECK(decode_capsule_resp(std::span(hd).first(24), c) == PduError::ShortBuffer);  // digest missing
  IcReq q;
  auto icreq = sample_icreq();
  CHECK(decode_icreq(std::span(icreq).first(100), q) == PduError::ShortBuffer);
  Area a;
  std::vector<uint8_t> offending(20, 1);
  auto term = whole_pdu(std::span(a).first(encode_term_req(PduType::C2HTermReq,
                                                           TermReq{.fes = TermFes::PduSequenceError, .fei = 0,
                                                                   .pdu_header = offending},
                                                           a)));
  TermReq t;
  CHECK(decode_term_req(std::span(term).first(30), t) == PduError::ShortBuffer);
  // The receive helper, too, never reads past what it was given.
  auto data = sample_c2h_data({});
  CHECK(host_gets(std::vector<uint8_t>(data.begin(), data.end() - 1)) == PduError::ShortBuffer);
  // Encoders refuse an output buffer that is too small.
  std::array<uint8_t, 20> tiny;
  CHECK(encode_capsule_resp(Cqe{}, {}, tiny) == 0);
  CHECK(encode_icreq(IcReq{}, tiny) == 0);
}

TEST_CASE("pdu reject: unknown types and types the receiver may not get") {
  for (uint8_t t : {uint8_t(0x08), uint8_t(0x0A), uint8_t(0x7F), uint8_t(0xFF)}) {
    auto pdu = sample_capsule_resp({});
    pdu[0] = t;
    CHECK(host_gets(pdu) == PduError::UnknownType);
    CHECK(controller_gets(pdu) == PduError::UnknownType);
  }
  // Controller-to-host PDUs sent to a controller, and the other way round.
  CHECK(controller_gets(sample_capsule_resp({})) == PduError::UnknownType);
  CHECK(controller_gets(sample_c2h_data({})) == PduError::UnknownType);
  CHECK(controller_gets(sample_r2t({})) == PduError::UnknownType);
  CHECK(controller_gets(sample_icresp()) == PduError::UnknownType);
  CHECK(host_gets(sample_icreq()) == PduError::UnknownType);
  Area a;
  auto cmd = whole_pdu(std::span(a).first(encode_capsule_cmd(cmd::keep_alive(), 0, {}, 0, a)));
  CHECK(host_gets(cmd) == PduError::UnknownType);
  auto h2c = whole_pdu(std::span(a).first(encode_h2c_data(DataHeader{.datal = 4, .flags = 0}, {}, 0, a)), pattern(4));
  CHECK(host_gets(h2c) == PduError::UnknownType);
  // A decoder given the wrong type.
  R2t r;
  CHECK(decode_r2t(sample_capsule_resp({}), r) == PduError::UnknownType);
}

TEST_CASE("pdu reject: wrong HLEN") {
  auto pdu = sample_capsule_resp({});
  pdu[2] = 72;
  CHECK(host_gets(pdu) == PduError::BadHlen);
  auto ic = sample_icreq();
  ic[2] = 127;
  CHECK(controller_gets(ic) == PduError::BadHlen);
  auto data = sample_c2h_data({});
  data[2] = 28;
  CHECK(host_gets(data) == PduError::BadHlen);
}

TEST_CASE("pdu reject: bad PDO") {
  auto pdu = sample_c2h_data({});
  pdu[3] = 20;  // inside the header
  CHECK(host_gets(pdu) == PduError::BadPdo);
  pdu = sample_c2h_data({true, false});
  pdu[3] = 24;  // inside the header digest
  CHECK(host_gets(pdu, {true, false}) == PduError::BadPdo);
  pdu = sample_c2h_data({}, 0, 16);
  pdu[3] = 40;  // data would be empty: PDO = PLEN
  CHECK(host_gets(pdu) == PduError::BadPdo);
  pdu[3] = 200;  // past PLEN
  CHECK(host_gets(pdu) == PduError::BadPdo);
  pdu = sample_c2h_data({}, 0, 16);
  CHECK(host_gets(pdu, {}, 3) == PduError::BadPdo);  // PDO 24 not a multiple of 16 (HPDA 3)
  CHECK(host_gets(pdu, {}, 1) == PduError::Ok);      // but a multiple of 8 (HPDA 1)
  CHECK(host_gets(sample_c2h_data({}, 3, 16), {}, 3) == PduError::Ok);
  auto resp = sample_capsule_resp({});
  resp[3] = 24;  // no data: PDO must be 0
  CHECK(host_gets(resp) == PduError::BadPdo);
  auto ic = sample_icreq();
  ic[3] = 128;
  CHECK(controller_gets(ic) == PduError::BadPdo);
}

TEST_CASE("pdu reject: bad PLEN") {
  auto resp = sample_capsule_resp({});
  put_le32(&resp[4], 23);
  CHECK(host_gets(resp) == PduError::BadPlen);
  resp = sample_capsule_resp({true, false});
  put_le32(&resp[4], 24);  // header digest does not fit
  refresh_hdgst(resp);
  CHECK(host_gets(resp, {true, false}) == PduError::BadPlen);
  resp = sample_capsule_resp({});
  resp.resize(32);
  put_le32(&resp[4], 32);  // CapsuleResp cannot carry data
  resp[3] = 24;
  CHECK(host_gets(resp) == PduError::BadPlen);
  auto data = sample_c2h_data({}, 0, 4096);
  CommonHeader ch;
  CHECK(parse_common_header(data, Receiver::Host, {}, 4096, ch) == PduError::BadPlen);  // > max_plen
  auto ic = sample_icreq();
  put_le32(&ic[4], 129);
  CHECK(controller_gets(ic) == PduError::BadPlen);
  std::vector<uint8_t> term(200, 0);
  term[0] = uint8_t(PduType::C2HTermReq);
  term[2] = 24;
  put_le32(&term[4], 153);  // TermReq PLEN <= 152
  CHECK(host_gets(term) == PduError::BadPlen);
}

TEST_CASE("pdu reject: digest flags that were not negotiated") {
  CHECK(host_gets(sample_capsule_resp({true, false}), {}) == PduError::BadFlags);           // HDGST unexpected
  CHECK(host_gets(sample_capsule_resp({}), {true, false}) == PduError::BadFlags);           // HDGST missing
  CHECK(host_gets(sample_c2h_data({false, true}), {}) == PduError::BadFlags);               // DDGST unexpected
  CHECK(host_gets(sample_c2h_data({}), {false, true}) == PduError::BadFlags);               // DDGST missing
  CHECK(host_gets(sample_r2t({true, false}), {false, true}) == PduError::BadFlags);
  auto resp = sample_capsule_resp({});
  resp[1] |= kFlagDdgst;  // DDGST on a PDU without data
  CHECK(host_gets(resp, {false, true}) == PduError::BadFlags);
  auto ic = sample_icreq();
  ic[1] = kFlagHdgst;  // ICReq never has digests
  CHECK(controller_gets(ic, {true, true}) == PduError::BadFlags);
  auto icr = sample_icresp();
  icr[1] = kFlagDdgst;
  CHECK(host_gets(icr, {true, true}) == PduError::BadFlags);
  std::vector<uint8_t> term(24, 0);
  term[0] = uint8_t(PduType::H2CTermReq);
  term[1] = kFlagHdgst;
  term[2] = 24;
  put_le32(&term[4], 24);
  CHECK(controller_gets(term, {true, true}) == PduError::BadFlags);
}

TEST_CASE("pdu reject: SUCCESS without LAST_PDU") {
  auto pdu = sample_c2h_data({});
  pdu[1] = kFlagSuccess;
  CHECK(host_gets(pdu) == PduError::BadFlags);
  DataHeader h;
  CHECK(decode_data(pdu, h) == PduError::BadFlags);
  Area a;
  auto h2c = whole_pdu(std::span(a).first(encode_h2c_data(DataHeader{.datal = 4, .flags = kFlagLastPdu}, {}, 0, a)),
                       pattern(4));
  h2c[1] |= kFlagSuccess;  // SUCCESS is only for C2HData
  CHECK(controller_gets(h2c) == PduError::BadFlags);
}

TEST_CASE("pdu reject: DATAL mismatch or zero, R2TL zero") {
  auto pdu = sample_c2h_data({true, true}, 0, 16);
  put_le32(&pdu[16], 15);
  refresh_hdgst(pdu);
  CHECK(host_gets(pdu, {true, true}) == PduError::BadField);
  put_le32(&pdu[16], 17);
  refresh_hdgst(pdu);
  CHECK(host_gets(pdu, {true, true}) == PduError::BadField);
  // A data PDU without a data section (PDO 0, PLEN = header) has DATAL 0.
  Area a;
  auto empty = whole_pdu(std::span(a).first(encode_c2h_data(DataHeader{.datal = 0, .flags = kFlagLastPdu}, {}, 0, a)));
  CHECK(empty.size() == 24);
  CHECK(host_gets(empty) == PduError::BadField);
  CHECK(host_gets(sample_r2t({}, 0)) == PduError::BadField);
}

TEST_CASE("pdu reject: ICReq/ICResp fields") {
  CHECK(controller_gets(sample_icreq(IcReq{.pfv = 1})) == PduError::BadField);
  CHECK(controller_gets(sample_icreq(IcReq{.pfv = 0, .hpda = 32})) == PduError::BadField);
  CHECK(host_gets(sample_icresp(IcResp{.pfv = 1, .maxh2cdata = 8192})) == PduError::BadField);
  CHECK(host_gets(sample_icresp(IcResp{.pfv = 0, .maxh2cdata = 4095})) == PduError::BadField);
  CHECK(host_gets(sample_icresp(IcResp{.pfv = 0, .maxh2cdata = 0})) == PduError::BadField);
  CHECK(host_gets(sample_icresp(IcResp{.pfv = 0, .maxh2cdata = 4098})) == PduError::BadField);
  CHECK(host_gets(sample_icresp(IcResp{.pfv = 0, .maxh2cdata = 4096})) == PduError::Ok);
}

TEST_CASE("pdu reject: digest mismatches") {
  auto pdu = sample_c2h_data({true, true}, 0, 64);
  auto bad_h = pdu;
  bad_h[12] ^= 1;  // DATAO changed, digest not refreshed
  CHECK(host_gets(bad_h, {true, true}) == PduError::HeaderDigest);
  auto bad_d = pdu;
  bad_d[40] ^= 0x80;  // a data byte
  CHECK(host_gets(bad_d, {true, true}) == PduError::DataDigest);
  auto bad_dd = pdu;
  bad_dd.back() ^= 1;  // the data digest itself
  CHECK(host_gets(bad_dd, {true, true}) == PduError::DataDigest);
  CHECK(host_gets(pdu, {true, true}) == PduError::Ok);
}
