// Test helpers shared by the PDU unit tests and the fuzz target: build a whole
// PDU with the encoders, and run a received byte string through every check
// a receiver makes (common header, header digest, typed decoder, data digest).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nvmefs/wire/crc32c.hpp"
#include "nvmefs/wire/tcp_pdu.hpp"

namespace nvmefs::wire::tcp::testing {

// Header area from an encoder, then `data`, then its digest when DDGST is set.
inline std::vector<uint8_t> whole_pdu(std::span<const uint8_t> header_area, std::span<const uint8_t> data = {}) {
  std::vector<uint8_t> pdu(header_area.begin(), header_area.end());
  pdu.insert(pdu.end(), data.begin(), data.end());
  if (!data.empty() && (header_area[1] & kFlagDdgst)) {
    uint8_t d[4];
    put_le32(d, crc32c(data));
    pdu.insert(pdu.end(), d, d + 4);
  }
  return pdu;
}

struct Received {
  CommonHeader ch;
  IcReq icreq;
  IcResp icresp;
  TermReq term;
  Sqe sqe;
  Cqe cqe;
  DataHeader data_hdr;
  R2t r2t;
  std::span<const uint8_t> data;  // data section (CapsuleCmd, H2CData, C2HData, TermReq)
};

// Everything a receiver checks, in order. `pdu` may hold more bytes than PLEN.
inline PduError receive_pdu(std::span<const uint8_t> pdu, Receiver receiver, Digests digests, uint8_t pda_field,
                            Received& r, uint32_t max_plen = 1u << 20) {
  if (auto e = parse_common_header(pdu, receiver, digests, max_plen, r.ch, pda_field); e != PduError::Ok) return e;
  if (pdu.size() < r.ch.plen) return PduError::ShortBuffer;
  pdu = pdu.first(r.ch.plen);
  auto hdr = pdu.first(header_area_len(r.ch));
  if (!verify_header_digest(hdr, r.ch)) return PduError::HeaderDigest;
  PduError e = PduError::UnknownType;
  switch (r.ch.type) {
    case PduType::ICReq: e = decode_icreq(hdr, r.icreq); break;
    case PduType::ICResp: e = decode_icresp(hdr, r.icresp); break;
    case PduType::H2CTermReq:
    case PduType::C2HTermReq:
      e = decode_term_req(pdu, r.term);
      r.data = r.term.pdu_header;
      return e;
    case PduType::CapsuleCmd: e = decode_capsule_cmd(hdr, r.sqe); break;
    case PduType::CapsuleResp: e = decode_capsule_resp(hdr, r.cqe); break;
    case PduType::H2CData:
    case PduType::C2HData: e = decode_data(hdr, r.data_hdr); break;
    case PduType::R2T: e = decode_r2t(hdr, r.r2t); break;
  }
  if (e != PduError::Ok) return e;
  r.data = pdu.subspan(data_offset(r.ch), data_length(r.ch));
  if (has_data_digest(r.ch) && crc32c(r.data) != get_le32(pdu.data() + data_offset(r.ch) + r.data.size()))
    return PduError::DataDigest;
  return PduError::Ok;
}

}  // namespace nvmefs::wire::tcp::testing
