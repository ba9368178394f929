// NVMe/TCP 1.0 PDU codec ("TCP §" = NVMe/TCP Transport Specification 1.0).
// Every parse function treats its input as untrusted: lengths are checked
// before any field is read.
#include "nvmefs/wire/tcp_pdu.hpp"

#include <algorithm>
#include <cstring>

#include "nvmefs/wire/crc32c.hpp"

namespace nvmefs::wire::tcp {
namespace {

// TCP §3.6.2.2/3 ICReq/ICResp: DGST byte bit 0 = HDGST_ENABLE, bit 1 = DDGST_ENABLE.
constexpr uint8_t kDgstHeader = 0x01;
constexpr uint8_t kDgstData = 0x02;
constexpr uint8_t kMaxPdaField = 31;        // HPDA/CPDA: 0..31 (TCP §3.6.2.2/3)
constexpr uint32_t kMinMaxH2cData = 4096;   // TCP §3.6.2.3

struct TypeInfo {
  size_t hlen;
  bool may_have_data;    // data section allowed after the header
  bool digests_allowed;  // HDGST/DDGST flags used with this type
};

// Fixed properties of each known PDU type; false if `t` is not one.
bool type_info(uint8_t t, TypeInfo& info) {
  switch (PduType(t)) {
    case PduType::ICReq: info = {kIcReqHlen, false, false}; return true;
    case PduType::ICResp: info = {kIcRespHlen, false, false}; return true;
    case PduType::H2CTermReq:
    case PduType::C2HTermReq: info = {kTermReqHlen, true, false}; return true;
    case PduType::CapsuleCmd: info = {kCapsuleCmdHlen, true, true}; return true;
    case PduType::CapsuleResp: info = {kCapsuleRespHlen, false, true}; return true;
    case PduType::H2CData:
    case PduType::C2HData: info = {kDataHlen, true, true}; return true;
    case PduType::R2T: info = {kR2tHlen, false, true}; return true;
  }
  return false;
}

// TCP §3.3 / Figure 7: which PDUs flow controller-to-host and host-to-controller.
bool receiver_may_get(PduType t, Receiver r) {
  switch (t) {
    case PduType::ICResp:
    case PduType::C2HTermReq:
    case PduType::CapsuleResp:
    case PduType::C2HData:
    case PduType::R2T: return r == Receiver::Host;
    case PduType::ICReq:
    case PduType::H2CTermReq:
    case PduType::CapsuleCmd:
    case PduType::H2CData: return r == Receiver::Controller;
  }
  return false;
}

bool is_term_req(PduType t) { return t == PduType::H2CTermReq || t == PduType::C2HTermReq; }

// Reads the 8 common header bytes without judging them.
CommonHeader read_common_header(const uint8_t* p) {
  CommonHeader ch;
  ch.type = PduType(p[0]);
  ch.flags = p[1];
  ch.hlen = p[2];
  ch.pdo = p[3];
  ch.plen = get_le32(p + 4);
  return ch;
}

void write_common_header(uint8_t* p, PduType type, uint8_t flags, size_t hlen, uint8_t pdo, uint32_t plen) {
  p[0] = uint8_t(type);
  p[1] = flags;
  p[2] = uint8_t(hlen);
  p[3] = pdo;
  put_le32(p + 4, plen);
}

size_t hdgst_len(const CommonHeader& ch) { return (ch.flags & kFlagHdgst) ? kDigestLen : 0; }
size_t ddgst_len(const CommonHeader& ch) { return (ch.flags & kFlagDdgst) ? kDigestLen : 0; }

// Common start of every decoder: `hdr` holds a whole header area of a PDU of
// type `expected` (or `alt`) with the right HLEN.
PduError check_header_area(std::span<const uint8_t> hdr, PduType expected, PduType alt, CommonHeader& ch) {
  if (hdr.size() < kCommonHeaderLen) return PduError::ShortBuffer;
  ch = read_common_header(hdr.data());
  if (ch.type != expected && ch.type != alt) return PduError::UnknownType;
  TypeInfo info;
  type_info(uint8_t(ch.type), info);
  if (ch.hlen != info.hlen) return PduError::BadHlen;
  if (hdr.size() < header_area_len(ch)) return PduError::ShortBuffer;
  return PduError::Ok;
}

PduError check_header_area(std::span<const uint8_t> hdr, PduType expected, CommonHeader& ch) {
  return check_header_area(hdr, expected, expected, ch);
}

// Writes the header digest after the `hlen` header bytes and zero padding up
// to `pdo` (TCP §3.6.2: digest covers the header only, not the padding).
size_t finish_header(uint8_t* p, size_t hlen, bool hdgst, size_t pdo) {
  size_t end = hlen;
  if (hdgst) {
    put_le32(p + hlen, crc32c(p, hlen));
    end += kDigestLen;
  }
  if (pdo > end) {
    std::memset(p + end, 0, pdo - end);
    end = pdo;
  }
  return end;
}

// CapsuleCmd, H2CData and C2HData: header, optional aligned data, digests.
size_t encode_with_data(PduType type, uint8_t flags, size_t hlen, const uint8_t* specific, uint32_t data_len,
                        Digests d, uint8_t pda_field, std::span<uint8_t> out) {
  uint8_t pdo = data_len ? compute_pdo(hlen, d.header, pda_field) : 0;
  size_t area = data_len ? pdo : hlen + (d.header ? kDigestLen : 0);
  if (out.size() < area) return 0;
  if (d.header) flags |= kFlagHdgst;
  if (d.data && data_len) flags |= kFlagDdgst;
  uint64_t plen = area + uint64_t(data_len) + ((flags & kFlagDdgst) ? kDigestLen : 0);
  write_common_header(out.data(), type, flags, hlen, pdo, uint32_t(std::min<uint64_t>(plen, UINT32_MAX)));
  std::memcpy(out.data() + kCommonHeaderLen, specific, hlen - kCommonHeaderLen);
  return finish_header(out.data(), hlen, d.header, area);
}

// CapsuleResp and R2T: header only.
size_t encode_without_data(PduType type, size_t hlen, const uint8_t* specific, Digests d, std::span<uint8_t> out) {
  return encode_with_data(type, 0, hlen, specific, 0, Digests{d.header, false}, 0, out);
}

}  // namespace

std::string_view pdu_type_name(PduType t) {
  switch (t) {
    case PduType::ICReq: return "ICReq";
    case PduType::ICResp: return "ICResp";
    case PduType::H2CTermReq: return "H2CTermReq";
    case PduType::C2HTermReq: return "C2HTermReq";
    case PduType::CapsuleCmd: return "CapsuleCmd";
    case PduType::CapsuleResp: return "CapsuleResp";
    case PduType::H2CData: return "H2CData";
    case PduType::C2HData: return "C2HData";
    case PduType::R2T: return "R2T";
  }
  return "unknown PDU type";
}

std::string_view pdu_error_name(PduError e) {
  switch (e) {
    case PduError::Ok: return "ok";
    case PduError::ShortBuffer: return "PDU shorter than its header";
    case PduError::UnknownType: return "unexpected PDU type";
    case PduError::BadHlen: return "invalid HLEN";
    case PduError::BadPdo: return "invalid PDO";
    case PduError::BadPlen: return "invalid PLEN";
    case PduError::BadFlags: return "invalid PDU flags";
    case PduError::HeaderDigest: return "header digest mismatch";
    case PduError::DataDigest: return "data digest mismatch";
    case PduError::BadField: return "invalid PDU field";
  }
  return "unknown PDU error";
}

TermFes term_fes_for(PduError e) {
  // A data digest error is normally reported in a completion (Transient
  // Transport Error), not by terminating; callers that do terminate report it
  // as a header field error like every other malformed PDU.
  return e == PduError::HeaderDigest ? TermFes::HeaderDigestError : TermFes::InvalidHeaderField;
}

uint32_t term_fei_for(PduError e) {
  // TCP §3.6.2.4 FEI for "Invalid PDU Header Field": byte offset of the field.
  switch (e) {
    case PduError::BadFlags: return 1;
    case PduError::BadHlen: return 2;
    case PduError::BadPdo: return 3;
    case PduError::BadPlen: return 4;
    default: return 0;
  }
}

PduError parse_common_header(std::span<const uint8_t> bytes, Receiver receiver, Digests digests, uint32_t max_plen,
                             CommonHeader& out, uint8_t pda_field) {
  if (bytes.size() < kCommonHeaderLen) return PduError::ShortBuffer;
  CommonHeader ch = read_common_header(bytes.data());
  TypeInfo info;
  if (!type_info(uint8_t(ch.type), info) || !receiver_may_get(ch.type, receiver)) return PduError::UnknownType;
  if (ch.hlen != info.hlen) return PduError::BadHlen;

  // TCP §3.6.1: HDGST/DDGST flags are set exactly when negotiated (DDGST only
  // on PDUs that carry data); ICReq/ICResp/TermReq never carry digests.
  bool hdgst = ch.flags & kFlagHdgst;
  bool ddgst = ch.flags & kFlagDdgst;
  if (!info.digests_allowed) {
    if (hdgst || ddgst) return PduError::BadFlags;
  } else if (hdgst != digests.header || (ddgst && !digests.data)) {
    return PduError::BadFlags;
  }
  // TCP §3.6.2.8: SUCCESS only on C2HData and only together with LAST_PDU.
  if (ch.flags & kFlagSuccess) {
    if (ch.type != PduType::C2HData || !(ch.flags & kFlagLastPdu)) return PduError::BadFlags;
  }

  size_t header_end = ch.hlen + hdgst_len(ch);
  if (ch.plen < header_end || ch.plen > max_plen) return PduError::BadPlen;

  if (is_term_req(ch.type)) {
    // TCP §3.6.2.4/5: the offending header follows the 24-byte header directly.
    if (ch.plen > kMaxTermReqPlen) return PduError::BadPlen;
    if (ch.pdo != 0 && ch.pdo != ch.hlen) return PduError::BadPdo;
  } else if (ch.plen == header_end) {
    // No data: PDO must be 0, and so must DDGST.
    if (ch.pdo != 0) return PduError::BadPdo;
    if (ddgst) return PduError::BadFlags;
  } else {
    if (!info.may_have_data) return PduError::BadPlen;
    if (digests.data != ddgst) return PduError::BadFlags;
    // TCP §3.6.2 "PDU Data Alignment": data starts after header + digest,
    // at a multiple of the receiver's PDA, and at least one byte fits.
    if (ch.pdo < header_end || ch.pdo + ddgst_len(ch) >= ch.plen) return PduError::BadPdo;
    if (pda_field != 0 && ch.pdo % ((size_t(pda_field) + 1) * 4) != 0) return PduError::BadPdo;
  }
  out = ch;
  return PduError::Ok;
}

size_t header_area_len(const CommonHeader& ch) { return ch.hlen + hdgst_len(ch); }

size_t data_offset(const CommonHeader& ch) {
  if (is_term_req(ch.type)) return ch.hlen;
  return ch.pdo ? ch.pdo : header_area_len(ch);
}

size_t data_length(const CommonHeader& ch) {
  size_t start = data_offset(ch) + (is_term_req(ch.type) ? 0 : ddgst_len(ch));
  return ch.plen > start ? ch.plen - start : 0;
}

bool has_data_digest(const CommonHeader& ch) { return ch.flags & kFlagDdgst; }

bool verify_header_digest(std::span<const uint8_t> header_area, const CommonHeader& ch) {
  if (!(ch.flags & kFlagHdgst)) return true;
  if (header_area.size() < size_t(ch.hlen) + kDigestLen) return false;
  return crc32c(header_area.data(), ch.hlen) == get_le32(header_area.data() + ch.hlen);
}

uint8_t compute_pdo(size_t hlen, bool hdgst, uint8_t pda_field) {
  size_t pdo = hlen + (hdgst ? kDigestLen : 0);
  if (pda_field != 0) {
    size_t align = (size_t(std::min(pda_field, kMaxPdaField)) + 1) * 4;
    pdo = (pdo + align - 1) / align * align;
  }
  return uint8_t(pdo);  // <= 128 for every HLEN (<= 76 + padding to 128)
}

// ---------- encoders ----------

size_t encode_icreq(const IcReq& r, std::span<uint8_t> out) {
  if (out.size() < kIcReqHlen) return 0;
  std::memset(out.data(), 0, kIcReqHlen);
  write_common_header(out.data(), PduType::ICReq, 0, kIcReqHlen, 0, kIcReqHlen);
  put_le16(&out[8], r.pfv);
  out[10] = r.hpda;
  out[11] = uint8_t((r.digests.header ? kDgstHeader : 0) | (r.digests.data ? kDgstData : 0));
  put_le32(&out[12], r.maxr2t);
  return kIcReqHlen;
}

size_t encode_icresp(const IcResp& r, std::span<uint8_t> out) {
  if (out.size() < kIcRespHlen) return 0;
  std::memset(out.data(), 0, kIcRespHlen);
  write_common_header(out.data(), PduType::ICResp, 0, kIcRespHlen, 0, kIcRespHlen);
  put_le16(&out[8], r.pfv);
  out[10] = r.cpda;
  out[11] = uint8_t((r.digests.header ? kDgstHeader : 0) | (r.digests.data ? kDgstData : 0));
  put_le32(&out[12], r.maxh2cdata);
  return kIcRespHlen;
}

size_t encode_term_req(PduType type, const TermReq& r, std::span<uint8_t> out) {
  if (!is_term_req(type)) return 0;
  size_t n = std::min(r.pdu_header.size(), kMaxTermReqData);
  if (out.size() < kTermReqHlen + n) return 0;
  std::memset(out.data(), 0, kTermReqHlen);
  write_common_header(out.data(), type, 0, kTermReqHlen, 0, uint32_t(kTermReqHlen + n));
  put_le16(&out[8], uint16_t(r.fes));
  put_le32(&out[10], r.fei);
  if (n) std::memcpy(&out[kTermReqHlen], r.pdu_header.data(), n);
  return kTermReqHlen + n;
}

size_t encode_capsule_cmd(const Sqe& sqe, uint32_t data_len, Digests d, uint8_t cpda, std::span<uint8_t> out) {
  return encode_with_data(PduType::CapsuleCmd, 0, kCapsuleCmdHlen, sqe.b, data_len, d, cpda, out);
}

size_t encode_capsule_resp(const Cqe& cqe, Digests d, std::span<uint8_t> out) {
  return encode_without_data(PduType::CapsuleResp, kCapsuleRespHlen, cqe.b, d, out);
}

namespace {
// TCP §3.6.2.7/8: CCCID, TTAG (H2CData only), DATAO, DATAL, 4 reserved bytes.
void put_data_fields(uint8_t* f, const DataHeader& h, bool with_ttag) {
  std::memset(f, 0, kDataHlen - kCommonHeaderLen);
  put_le16(f, h.cccid);
  if (with_ttag) put_le16(f + 2, h.ttag);
  put_le32(f + 4, h.datao);
  put_le32(f + 8, h.datal);
}
}  // namespace

size_t encode_h2c_data(const DataHeader& h, Digests d, uint8_t cpda, std::span<uint8_t> out) {
  uint8_t fields[kDataHlen - kCommonHeaderLen];
  put_data_fields(fields, h, true);
  return encode_with_data(PduType::H2CData, h.flags & kFlagLastPdu, kDataHlen, fields, h.datal, d, cpda, out);
}

size_t encode_c2h_data(const DataHeader& h, Digests d, uint8_t hpda, std::span<uint8_t> out) {
  uint8_t fields[kDataHlen - kCommonHeaderLen];
  put_data_fields(fields, h, false);
  return encode_with_data(PduType::C2HData, h.flags & (kFlagLastPdu | kFlagSuccess), kDataHlen, fields, h.datal, d,
                          hpda, out);
}

size_t encode_r2t(const R2t& r, Digests d, std::span<uint8_t> out) {
  // TCP §3.6.2.9: CCCID, TTAG, R2TO, R2TL, 4 reserved bytes.
  uint8_t fields[kR2tHlen - kCommonHeaderLen]{};
  put_le16(fields, r.cccid);
  put_le16(fields + 2, r.ttag);
  put_le32(fields + 4, r.r2to);
  put_le32(fields + 8, r.r2tl);
  return encode_without_data(PduType::R2T, kR2tHlen, fields, d, out);
}

// ---------- decoders ----------

PduError decode_icreq(std::span<const uint8_t> hdr, IcReq& out) {
  CommonHeader ch;
  if (auto e = check_header_area(hdr, PduType::ICReq, ch); e != PduError::Ok) return e;
  IcReq r;
  r.pfv = get_le16(&hdr[8]);
  r.hpda = hdr[10];
  r.digests = {bool(hdr[11] & kDgstHeader), bool(hdr[11] & kDgstData)};
  r.maxr2t = get_le32(&hdr[12]);
  if (r.pfv != 0 || r.hpda > kMaxPdaField) return PduError::BadField;  // TCP §3.6.2.2
  out = r;
  return PduError::Ok;
}

PduError decode_icresp(std::span<const uint8_t> hdr, IcResp& out) {
  CommonHeader ch;
  if (auto e = check_header_area(hdr, PduType::ICResp, ch); e != PduError::Ok) return e;
  IcResp r;
  r.pfv = get_le16(&hdr[8]);
  r.cpda = hdr[10];
  r.digests = {bool(hdr[11] & kDgstHeader), bool(hdr[11] & kDgstData)};
  r.maxh2cdata = get_le32(&hdr[12]);
  // TCP §3.6.2.3: MAXH2CDATA is at least 4096 and a multiple of a dword.
  if (r.pfv != 0 || r.cpda > kMaxPdaField || r.maxh2cdata < kMinMaxH2cData || r.maxh2cdata % 4 != 0)
    return PduError::BadField;
  out = r;
  return PduError::Ok;
}

PduError decode_term_req(std::span<const uint8_t> pdu, TermReq& out) {
  CommonHeader ch;
  if (auto e = check_header_area(pdu, PduType::H2CTermReq, PduType::C2HTermReq, ch); e != PduError::Ok) return e;
  if (ch.plen < kTermReqHlen || ch.plen > kMaxTermReqPlen) return PduError::BadPlen;
  if (pdu.size() < ch.plen) return PduError::ShortBuffer;
  out.fes = TermFes(get_le16(&pdu[8]));
  out.fei = get_le32(&pdu[10]);
  out.pdu_header = pdu.subspan(kTermReqHlen, ch.plen - kTermReqHlen);
  return PduError::Ok;
}

PduError decode_capsule_cmd(std::span<const uint8_t> hdr, Sqe& out) {
  CommonHeader ch;
  if (auto e = check_header_area(hdr, PduType::CapsuleCmd, ch); e != PduError::Ok) return e;
  std::memcpy(out.b, &hdr[kCommonHeaderLen], sizeof out.b);
  return PduError::Ok;
}

PduError decode_capsule_resp(std::span<const uint8_t> hdr, Cqe& out) {
  CommonHeader ch;
  if (auto e = check_header_area(hdr, PduType::CapsuleResp, ch); e != PduError::Ok) return e;
  std::memcpy(out.b, &hdr[kCommonHeaderLen], sizeof out.b);
  return PduError::Ok;
}

PduError decode_data(std::span<const uint8_t> hdr, DataHeader& out) {
  CommonHeader ch;
  if (auto e = check_header_area(hdr, PduType::H2CData, PduType::C2HData, ch); e != PduError::Ok) return e;
  bool h2c = ch.type == PduType::H2CData;
  if ((ch.flags & kFlagSuccess) && (h2c || !(ch.flags & kFlagLastPdu))) return PduError::BadFlags;
  DataHeader h;
  h.cccid = get_le16(&hdr[8]);
  h.ttag = h2c ? get_le16(&hdr[10]) : 0;
  h.datao = get_le32(&hdr[12]);
  h.datal = get_le32(&hdr[16]);
  h.flags = ch.flags & (kFlagLastPdu | kFlagSuccess);
  // TCP §3.6.2.7/8: DATAL is the length of the data section, never 0.
  if (h.datal == 0 || h.datal != data_length(ch)) return PduError::BadField;
  out = h;
  return PduError::Ok;
}

PduError decode_r2t(std::span<const uint8_t> hdr, R2t& out) {
  CommonHeader ch;
  if (auto e = check_header_area(hdr, PduType::R2T, ch); e != PduError::Ok) return e;
  R2t r;
  r.cccid = get_le16(&hdr[8]);
  r.ttag = get_le16(&hdr[10]);
  r.r2to = get_le32(&hdr[12]);
  r.r2tl = get_le32(&hdr[16]);
  if (r.r2tl == 0) return PduError::BadField;  // TCP §3.6.2.9
  out = r;
  return PduError::Ok;
}

}  // namespace nvmefs::wire::tcp
