// Random byte mutations of valid PDUs: the receive path must reject or accept
// them without reading out of bounds (run under ASan/UBSan in the fuzz build;
// here it at least exercises every branch with garbage).
#include <doctest/doctest.h>

#include <array>
#include <random>
#include <vector>

#include "pdu_receive.hpp"

using namespace nvmefs::wire;
using namespace nvmefs::wire::tcp;

namespace {

std::vector<std::vector<uint8_t>> valid_pdus(Digests d, uint8_t pda) {
  std::array<uint8_t, kMaxHeaderArea> a;
  std::vector<uint8_t> data(300, 0x5A);
  auto add = [&](size_t n, size_t data_len = 0) {
    return testing::whole_pdu(std::span(a).first(n), std::span(data).first(data_len));
  };
  std::vector<std::vector<uint8_t>> v;
  v.push_back(add(encode_icreq(IcReq{.pfv = 0, .hpda = pda, .digests = d, .maxr2t = 0}, a)));
  v.push_back(add(encode_icresp(IcResp{.pfv = 0, .cpda = pda, .digests = d, .maxh2cdata = 65536}, a)));
  v.push_back(add(encode_term_req(PduType::C2HTermReq, TermReq{.fes = TermFes::PduSequenceError, .fei = 1,
                                                               .pdu_header = std::span(data).first(24)},
                                  a)));
  v.push_back(add(encode_capsule_cmd(cmd::read(1, 0, 1), 0, d, pda, a)));
  v.push_back(add(encode_capsule_cmd(cmd::write(1, 0, 1), 300, d, pda, a), 300));
  v.push_back(add(encode_capsule_resp(Cqe{}, d, a)));
  v.push_back(add(encode_h2c_data(DataHeader{.cccid = 1, .ttag = 2, .datao = 0, .datal = 100, .flags = kFlagLastPdu},
                                  d, pda, a),
                  100));
  v.push_back(add(encode_c2h_data(DataHeader{.cccid = 1, .ttag = 0, .datao = 0, .datal = 200,
                                             .flags = kFlagLastPdu | kFlagSuccess},
                                  d, pda, a),
                  200));
  v.push_back(add(encode_r2t(R2t{.cccid = 1, .ttag = 2, .r2to = 0, .r2tl = 512}, d, a)));
  return v;
}

}  // namespace

TEST_CASE("pdu: random mutations never crash and valid PDUs stay valid") {
  std::mt19937 rng(4242);
  size_t accepted = 0, rejected = 0;
  for (Digests d : {Digests{false, false}, Digests{true, true}}) {
    for (uint8_t pda : {uint8_t(0), uint8_t(3)}) {
      for (const auto& pdu : valid_pdus(d, pda)) {
        // Unmutated: accepted by exactly the side it is meant for.
        testing::Received r;
        bool host_ok = testing::receive_pdu(pdu, Receiver::Host, d, pda, r) == PduError::Ok;
        bool ctrl_ok = testing::receive_pdu(pdu, Receiver::Controller, d, pda, r) == PduError::Ok;
        CHECK(host_ok != ctrl_ok);
        for (int i = 0; i < 500; ++i) {
          auto m = pdu;
          int flips = 1 + int(rng() % 4);
          for (int f = 0; f < flips; ++f) m[rng() % m.size()] ^= uint8_t(1 + rng() % 255);
          if (rng() % 4 == 0) m.resize(rng() % (m.size() + 1));  // truncate too
          for (Receiver who : {Receiver::Host, Receiver::Controller}) {
            PduError e = testing::receive_pdu(m, who, d, pda, r);
            if (e == PduError::Ok) {
              ++accepted;
              // Whatever was accepted is self-consistent.
              REQUIRE(r.ch.plen <= m.size());
              REQUIRE(r.data.data() + r.data.size() <= m.data() + m.size());
            } else {
              ++rejected;
            }
          }
        }
      }
    }
  }
  MESSAGE("mutations accepted " << accepted << ", rejected " << rejected);
  CHECK(rejected > accepted);
}
