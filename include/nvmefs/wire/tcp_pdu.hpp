// NVMe/TCP PDU codec: pure functions over byte spans, shared by the host
// (initiator) and the bundled target. No sockets here.
//
// References are to the NVMe/TCP Transport Specification 1.0 ("TCP §").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::wire::tcp {

// TCP §3.6.1 PDU types.
enum class PduType : uint8_t {
  ICReq = 0x00,
  ICResp = 0x01,
  H2CTermReq = 0x02,
  C2HTermReq = 0x03,
  CapsuleCmd = 0x04,
  CapsuleResp = 0x05,
  H2CData = 0x06,
  C2HData = 0x07,
  R2T = 0x09,
};
std::string_view pdu_type_name(PduType t);

// TCP §3.6.1 common header flags.
inline constexpr uint8_t kFlagHdgst = 0x01;     // header digest present
inline constexpr uint8_t kFlagDdgst = 0x02;     // data digest present
inline constexpr uint8_t kFlagLastPdu = 0x04;   // H2CData / C2HData: last PDU of the transfer
inline constexpr uint8_t kFlagSuccess = 0x08;   // C2HData: command completed successfully, no CapsuleResp follows

inline constexpr size_t kCommonHeaderLen = 8;
inline constexpr size_t kDigestLen = 4;
// Fixed header lengths (HLEN) per PDU type (TCP §3.6.2.x).
inline constexpr size_t kIcReqHlen = 128;
inline constexpr size_t kIcRespHlen = 128;
inline constexpr size_t kTermReqHlen = 24;
inline constexpr size_t kCapsuleCmdHlen = 72;   // 8 + 64-byte SQE
inline constexpr size_t kCapsuleRespHlen = 24;  // 8 + 16-byte CQE
inline constexpr size_t kDataHlen = 24;         // H2CData and C2HData
inline constexpr size_t kR2tHlen = 24;
// Largest header + header digest + padding any valid PDU can have before its data:
// PDO is one byte, so data never starts past offset 255.
inline constexpr size_t kMaxHeaderArea = 256;
// TermReq carries at most this much of the offending PDU header, so its PLEN
// is at most 152 bytes (TCP §3.6.2.4/5).
inline constexpr size_t kMaxTermReqData = 128;
inline constexpr size_t kMaxTermReqPlen = kTermReqHlen + kMaxTermReqData;

// Fatal error status for TermReq (TCP §3.6.2.4 Figure 15).
enum class TermFes : uint16_t {
  InvalidHeaderField = 0x01,
  PduSequenceError = 0x02,
  HeaderDigestError = 0x03,
  DataTransferOutOfRange = 0x04,
  DataTransferLimitExceeded = 0x05,
  UnsupportedParameter = 0x06,
};

// What both ends agreed in ICReq/ICResp.
struct Digests {
  bool header = false;
  bool data = false;
};

// Common header (TCP §3.6.1).
struct CommonHeader {
  PduType type{};
  uint8_t flags = 0;
  uint8_t hlen = 0;
  uint8_t pdo = 0;
  uint32_t plen = 0;
};

// Why a PDU was rejected. Every parse function returns one of these.
enum class PduError : uint8_t {
  Ok = 0,
  ShortBuffer,         // fewer bytes than the structure needs
  UnknownType,         // not a PDU type, or not one this side may receive
  BadHlen,             // HLEN differs from the fixed value of the type
  BadPdo,              // PDO inside the header, misaligned, or past PLEN
  BadPlen,             // PLEN smaller than the header or larger than allowed
  BadFlags,            // digest flag that was not negotiated, SUCCESS without LAST_PDU, ...
  HeaderDigest,        // header digest mismatch
  DataDigest,          // data digest mismatch
  BadField,            // a field value the spec forbids (PFV, zero-length data, ...)
};
std::string_view pdu_error_name(PduError e);
// The TermReq FES matching a parse error (for the side that must send one).
TermFes term_fes_for(PduError e);
// The matching FEI: offset of the offending common header field (0 for the
// PDU type and for errors in type-specific fields or digests).
uint32_t term_fei_for(PduError e);

// Which side is parsing: a host receives C2H PDUs, a controller H2C ones.
enum class Receiver : uint8_t { Host, Controller };

// Parses the first 8 bytes. Checks: type is one `receiver` may get, HLEN is
// the type's fixed value, PLEN >= HLEN (+ digest) and <= max_plen, the digest
// flags match `digests` (ICReq/ICResp/TermReq never carry digests), PDO is 0
// for PDUs without data or else >= HLEN(+HDGST), < PLEN, a multiple of
// (pda_field + 1) * 4 when pda_field (the receiver's own HPDA or CPDA) is
// non-zero (TCP §3.6.2 "PDU Data Alignment"), SUCCESS only with LAST_PDU.
// TermReq PLEN is 24..152; its data (the offending header) starts at HLEN.
PduError parse_common_header(std::span<const uint8_t> bytes, Receiver receiver, Digests digests,
                             uint32_t max_plen, CommonHeader& out, uint8_t pda_field = 0);

// Number of bytes from the PDU start up to and including the header digest;
// the receiver reads this many bytes before it knows where data begins.
size_t header_area_len(const CommonHeader& ch);
// Where the data section begins and how long it is (0 if none).
size_t data_offset(const CommonHeader& ch);
size_t data_length(const CommonHeader& ch);
// True if the PDU has a data digest trailing its data.
bool has_data_digest(const CommonHeader& ch);

// Verifies the header digest over the first ch.hlen bytes (TCP §3.6.2, CRC32C).
bool verify_header_digest(std::span<const uint8_t> header_area, const CommonHeader& ch);

// PDO a sender must use for a PDU with data: HLEN + HDGST rounded up to the
// receiver's PDA ((HPDA|CPDA + 1) * 4 bytes, 0 = no alignment) (TCP §3.6.2.2).
uint8_t compute_pdo(size_t hlen, bool hdgst, uint8_t pda_field);

// ---------- typed PDUs ----------
struct IcReq {
  uint16_t pfv = 0;      // PDU format version, 0
  uint8_t hpda = 0;      // host PDU data alignment, 0..31
  Digests digests;       // requested digests
  uint32_t maxr2t = 0;   // max outstanding R2T per command, 0-based
};
struct IcResp {
  uint16_t pfv = 0;
  uint8_t cpda = 0;
  Digests digests;
  uint32_t maxh2cdata = 0;  // >= 4096 (TCP §3.6.2.3)
};
struct TermReq {
  TermFes fes{};
  uint32_t fei = 0;                      // field error information
  std::span<const uint8_t> pdu_header;   // the offending header bytes (may be empty)
};
struct DataHeader {       // H2CData and C2HData
  uint16_t cccid = 0;
  uint16_t ttag = 0;      // H2CData only
  uint32_t datao = 0;
  uint32_t datal = 0;
  uint8_t flags = 0;      // LAST_PDU / SUCCESS
};
struct R2t {
  uint16_t cccid = 0;
  uint16_t ttag = 0;
  uint32_t r2to = 0;
  uint32_t r2tl = 0;
};

// Encoders write the header area (CH + PDU-specific header + header digest
// if enabled + padding up to PDO) into `out`, which must hold at least
// kMaxHeaderArea bytes, and return its length (0 if `out` is too small, or
// for encode_term_req a type that is not a TermReq). For PDUs with data, the
// caller sends `data_len` bytes of data next, then the data digest if
// enabled (see crc32c.hpp). PLEN accounts for all of it.
size_t encode_icreq(const IcReq& r, std::span<uint8_t> out);
size_t encode_icresp(const IcResp& r, std::span<uint8_t> out);
size_t encode_term_req(PduType type, const TermReq& r, std::span<uint8_t> out);  // H2CTermReq/C2HTermReq; copies the header bytes too
size_t encode_capsule_cmd(const Sqe& sqe, uint32_t data_len, Digests d, uint8_t cpda, std::span<uint8_t> out);
size_t encode_capsule_resp(const Cqe& cqe, Digests d, std::span<uint8_t> out);
size_t encode_h2c_data(const DataHeader& h, Digests d, uint8_t cpda, std::span<uint8_t> out);
size_t encode_c2h_data(const DataHeader& h, Digests d, uint8_t hpda, std::span<uint8_t> out);
size_t encode_r2t(const R2t& r, Digests d, std::span<uint8_t> out);

// Decoders take the whole header area (as sized by header_area_len) of a PDU
// whose common header already passed parse_common_header, check the PDU's
// own fields, and fill `out`.
PduError decode_icreq(std::span<const uint8_t> hdr, IcReq& out);
PduError decode_icresp(std::span<const uint8_t> hdr, IcResp& out);
PduError decode_term_req(std::span<const uint8_t> pdu, TermReq& out);  // pdu = whole PDU (header + data)
PduError decode_capsule_cmd(std::span<const uint8_t> hdr, Sqe& out);
PduError decode_capsule_resp(std::span<const uint8_t> hdr, Cqe& out);
PduError decode_data(std::span<const uint8_t> hdr, DataHeader& out);    // H2CData and C2HData; DATAL must equal data_length(ch) and be > 0
PduError decode_r2t(std::span<const uint8_t> hdr, R2t& out);            // R2TL must be > 0

}  // namespace nvmefs::wire::tcp
