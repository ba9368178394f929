// libFuzzer target: NVMe/TCP PDU parsing as a host or a controller receives
// it. Input: one configuration byte (fuzz_config.hpp), then the PDU bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_config.hpp"
#include "pdu_receive.hpp"

using namespace nvmefs::wire;
using namespace nvmefs::wire::tcp;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// The decoders must also be safe on bytes that never passed parse_common_header.
void decode_raw(std::span<const uint8_t> b) {
  IcReq icreq;
  IcResp icresp;
  TermReq term;
  Sqe sqe;
  Cqe cqe;
  DataHeader data;
  R2t r2t;
  decode_icreq(b, icreq);
  decode_icresp(b, icresp);
  if (decode_term_req(b, term) == PduError::Ok)
    check(term.pdu_header.data() + term.pdu_header.size() <= b.data() + b.size());
  decode_capsule_cmd(b, sqe);
  decode_capsule_resp(b, cqe);
  decode_data(b, data);
  decode_r2t(b, r2t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto cfg = fuzzing::decode_config(data[0]);
  std::span<const uint8_t> pdu(data + 1, size - 1);

  testing::Received r;
  if (testing::receive_pdu(pdu, cfg.receiver, cfg.digests, cfg.pda_field, r, 1u << 20) == PduError::Ok) {
    check(r.ch.plen <= pdu.size());
    check(r.data.data() >= pdu.data() && r.data.data() + r.data.size() <= pdu.data() + r.ch.plen);
    check(header_area_len(r.ch) <= r.ch.plen);
  }
  decode_raw(pdu);
  return 0;
}
