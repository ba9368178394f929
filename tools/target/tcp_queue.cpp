#include "tcp_queue.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "admin.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/wire/crc32c.hpp"

namespace nvmefs::target {
namespace {

using namespace wire::tcp;
using wire::status::kSuccess;

constexpr uint32_t kC2hChunk = 128 * 1024;     // data per C2HData PDU
constexpr uint32_t kMaxGathered = 64 * 1024;   // non-Write H2C data (Connect, DSM ranges)
constexpr uint32_t kMaxOutstandingR2t = 16;    // whatever MAXR2T the host allows

// Byte offsets of PDU fields, reported as FEI in TermReqs (NVMe/TCP 1.0 §3.6.2.4).
constexpr uint32_t kFeiFlags = 1, kFeiHlen = 2, kFeiPdo = 3, kFeiPlen = 4;
constexpr uint32_t kFeiPfv = 8;
constexpr uint32_t kFeiCccid = 8, kFeiTtag = 10, kFeiDatao = 12, kFeiDatal = 16;

// Field offsets the fault injection rewrites (NVMe/TCP 1.0 Figures 23, 27, 30).
constexpr size_t kHlenOffset = 2, kPdoOffset = 3, kPlenOffset = 4;
constexpr size_t kIcRespPfvOffset = 8, kIcRespMaxH2cDataOffset = 12;
constexpr size_t kDatalOffset = 16;

bool is_c2h_data_kind(MalformedKind k) {
  switch (k) {
    case MalformedKind::DataOffset:
    case MalformedKind::UnknownCid:
    case MalformedKind::Truncated:
    case MalformedKind::BadHlen:
    case MalformedKind::BadPdo:
    case MalformedKind::BadDatal: return true;
    default: return false;
  }
}

bool is_capsule_resp_kind(MalformedKind k) {
  switch (k) {
    case MalformedKind::HugePlen:
    case MalformedKind::BadPlen:
    case MalformedKind::HeaderDigest:
    case MalformedKind::UnknownCidResp: return true;
    default: return false;
  }
}

uint32_t fei_for(PduError e) {
  switch (e) {
    case PduError::BadFlags: return kFeiFlags;
    case PduError::BadHlen: return kFeiHlen;
    case PduError::BadPdo: return kFeiPdo;
    case PduError::BadPlen: return kFeiPlen;
    default: return 0;
  }
}

bool is_connect(const wire::Sqe& sqe) {
  return sqe.opcode() == wire::kFabricsOpcode && sqe.fctype() == kFctypeConnect;
}

}  // namespace

TcpQueue::TcpQueue(TargetContext& ctx, int fd, transport::ByteStream& stream, LocalAddress local, std::string peer)
    : ctx_(ctx),
      fd_(fd),
      stream_(stream),
      local_(std::move(local)),
      peer_(std::move(peer)),
      transfers_(1),
      free_ttags_{0},
      in_capsule_(std::max(kAdminInlineData, ctx.options.inline_data)) {
  max_plen_ = uint32_t(kMaxHeaderArea + std::max<size_t>(in_capsule_.size(), ctx.options.maxh2cdata) + kDigestLen);
}

TcpQueue::~TcpQueue() {
  auto& ctrl = binding_.controller;
  if (!ctrl) return;
  if (event_sender_.joinable()) {
    ctrl->events().stop();
    ::shutdown(fd_, SHUT_RDWR);  // a sender blocked on a stuck host gives up
    event_sender_.join();
  }
  ctrl->detach_queue(binding_.qid);
  if (binding_.qid == 0) {  // the admin queue's end is the controller's end (NVMe-oF 1.1 §3.3)
    ctrl->kill();
    ctx_.controllers.remove(ctrl->cntlid());
    log::info("controller {} of {} gone", ctrl->cntlid(), ctrl->hostnqn());
  }
}

void TcpQueue::run() {
  if (!handshake()) return;
  CommonHeader ch;
  while (receive_header(ch)) {
    bool ok = false;
    switch (ch.type) {
      case PduType::CapsuleCmd: ok = on_capsule(ch); break;
      case PduType::H2CData: ok = on_h2c_data(ch); break;
      case PduType::H2CTermReq: ok = on_term_req(ch); break;
      default: ok = fatal(TermFes::PduSequenceError, 0, ch.hlen); break;  // a second ICReq
    }
    if (!ok) return;
  }
}

// ICReq / ICResp (NVMe/TCP 1.0 §3.6.2.2, §3.6.2.3): grant the digests the host
// asks for, CPDA 0 (no alignment needed), our MAXH2CDATA.
bool TcpQueue::handshake() {
  CommonHeader ch;
  if (stream_.read_all(rx_header_, kCommonHeaderLen) != 0) return false;
  PduError e = parse_common_header({rx_header_, kCommonHeaderLen}, Receiver::Controller, Digests{}, kIcReqHlen, ch);
  if (e == PduError::Ok && ch.type != PduType::ICReq) e = PduError::UnknownType;
  if (e != PduError::Ok) return fatal(term_fes_for(e), fei_for(e), kCommonHeaderLen);
  if (stream_.read_all(rx_header_ + kCommonHeaderLen, kIcReqHlen - kCommonHeaderLen) != 0) return false;
  IcReq req;
  if ((e = decode_icreq({rx_header_, kIcReqHlen}, req)) != PduError::Ok)
    return fatal(term_fes_for(e), fei_for(e), kIcReqHlen);
  if (req.pfv != 0) return fatal(TermFes::UnsupportedParameter, kFeiPfv, kIcReqHlen);
  digests_ = req.digests;
  hpda_ = req.hpda;
  max_r2t_ = std::min<uint32_t>(req.maxr2t, kMaxOutstandingR2t - 1) + 1;

  IcResp resp;
  resp.pfv = 0;
  resp.cpda = 0;
  resp.digests = digests_;
  resp.maxh2cdata = ctx_.options.maxh2cdata;
  log::debug("{}: ICReq hpda {} maxr2t {} digests header={} data={}", peer_, req.hpda, req.maxr2t, digests_.header,
             digests_.data);
  const size_t n = encode_icresp(resp, tx_header_);
  if (ctx_.faults.should_malform_icresp()) {
    log::info("fault injection: {} for {}", malformed_kind_name(ctx_.faults.options().malformed_kind), peer_);
    if (ctx_.faults.is(MalformedKind::IcRespPfv)) wire::put_le16(tx_header_ + kIcRespPfvOffset, 1);
    else wire::put_le32(tx_header_ + kIcRespMaxH2cDataOffset, 1000);
  }
  return send_pdu(n, {});
}

// Reads a PDU header area (and skips padding up to PDO): NVMe/TCP 1.0 §3.6.1.
bool TcpQueue::receive_header(CommonHeader& ch) {
  if (stream_.read_all(rx_header_, kCommonHeaderLen) != 0) return false;
  PduError e = parse_common_header({rx_header_, kCommonHeaderLen}, Receiver::Controller, digests_, max_plen_, ch);
  if (e != PduError::Ok) {
    log::warn("{}: bad PDU header: {}", peer_, pdu_error_name(e));
    return fatal(term_fes_for(e), fei_for(e), kCommonHeaderLen);
  }
  const size_t area = header_area_len(ch);
  if (stream_.read_all(rx_header_ + kCommonHeaderLen, area - kCommonHeaderLen) != 0) return false;
  if ((ch.flags & kFlagHdgst) && !verify_header_digest({rx_header_, area}, ch)) {
    log::warn("{}: header digest error in {}", peer_, pdu_type_name(ch.type));
    return fatal(TermFes::HeaderDigestError, 0, area);
  }
  if (data_length(ch) > 0 && data_offset(ch) > area) {
    uint8_t pad[kMaxHeaderArea];
    if (stream_.read_all(pad, data_offset(ch) - area) != 0) return false;
  }
  return true;
}

// Reads `len` data bytes and, if present, the data digest.
bool TcpQueue::receive_data(uint8_t* dst, size_t len, const CommonHeader& ch, bool& digest_ok) {
  uint8_t digest[kDigestLen];
  iovec iov[2] = {{dst, len}, {digest, kDigestLen}};
  const bool ddgst = has_data_digest(ch);
  if (stream_.read_all(iov, ddgst ? 2 : 1) != 0) return false;
  digest_ok = !ddgst || wire::get_le32(digest) == wire::crc32c(dst, len);
  return true;
}

uint32_t TcpQueue::in_capsule_limit() const {
  if (!binding_.controller) return uint32_t(in_capsule_.size());
  return binding_.qid == 0 ? kAdminInlineData : ctx_.options.inline_data;
}

bool TcpQueue::on_capsule(const CommonHeader& ch) {
  wire::Sqe sqe;
  if (PduError e = decode_capsule_cmd({rx_header_, header_area_len(ch)}, sqe); e != PduError::Ok)
    return fatal(term_fes_for(e), fei_for(e), header_area_len(ch));
  const size_t len = data_length(ch);
  if (len > in_capsule_limit()) return fatal(TermFes::DataTransferLimitExceeded, kFeiPlen, header_area_len(ch));
  bool digest_ok = true;
  if (len > 0 && !receive_data(in_capsule_.data(), len, ch, digest_ok)) return false;
  if (binding_.controller) {
    sqhd_.store(uint16_t((sqhd_.load(std::memory_order_relaxed) + 1) % (uint32_t(binding_.sqsize) + 1)),
                std::memory_order_relaxed);
    binding_.controller->touch();
  }
  log::trace("{}: qid {} cid {} opcode {:#x} nsid {} in-capsule {}", peer_, binding_.qid, sqe.cid(), sqe.opcode(),
             sqe.nsid(), len);
  // NVMe/TCP 1.0 §3.6.2.1 / §7.4.6.1: a data digest error fails the command, not the connection.
  if (!digest_ok) {
    log::warn("{}: data digest error in capsule cid {}", peer_, sqe.cid());
    return complete(sqe.cid(), status::kTransientTransportError);
  }
  return dispatch(sqe, {in_capsule_.data(), len});
}

// Checks the queue state and locates the command's data (NVMe/TCP 1.0 §3.3,
// NVMe-oF 1.1 §2.3): in-capsule (SGL Data Block, address = offset) or via
// R2T/C2HData (Transport SGL Data Block).
bool TcpQueue::dispatch(const wire::Sqe& sqe, std::span<const uint8_t> in_capsule) {
  using namespace wire::status;
  const uint16_t cid = sqe.cid();
  // Before Connect only Connect; after it, no second one (NVMe-oF 1.1 §3.3).
  if (is_connect(sqe) == bool(binding_.controller)) return complete(cid, dnr(kCommandSequenceError));
  if (binding_.controller) {
    if (binding_.controller->dead()) return false;
    // Until the queue is authenticated only fabrics commands (NVMe Base 2.0 §8.13.1).
    if (auth_ && !auth_->authenticated() && sqe.opcode() != wire::kFabricsOpcode)
      return complete(cid, dnr(status::kAuthenticationRequired));
    // Until CC.EN = 1 and CSTS.RDY = 1 only fabrics commands (NVMe-oF 1.1 §3.4).
    if (sqe.opcode() != wire::kFabricsOpcode && !binding_.controller->ready())
      return complete(cid, dnr(kCommandSequenceError));
  }
  uint64_t io_number = 0;
  if (binding_.qid != 0) {
    io_number = ctx_.faults.count_io_command();
    if (ctx_.faults.should_swallow(io_number)) {
      log::info("fault injection: never answering qid {} cid {}", binding_.qid, cid);
      return true;
    }
    if (ctx_.faults.options().delay_ms)
      std::this_thread::sleep_for(std::chrono::milliseconds(ctx_.faults.options().delay_ms));
  }

  const DataDir dir = data_direction(sqe);
  const uint32_t len = dir == DataDir::None ? 0 : sqe.sgl_length();
  if (len == 0) return execute(sqe, {}, 0, io_number);
  if (dir == DataDir::Both) return complete_io(cid, dnr(kInvalidField), io_number);
  if (ctx_.options.mdts_bytes && len > ctx_.options.mdts_bytes) return complete_io(cid, dnr(kInvalidField), io_number);

  switch (sqe.sgl_type()) {
    case wire::kSglDataBlockOffset: {
      if (dir != DataDir::HostToController) return complete_io(cid, dnr(status::kSglDescriptorTypeInvalid), io_number);
      const uint64_t offset = sqe.sgl_addr();
      if (offset > in_capsule.size()) return complete_io(cid, dnr(status::kSglOffsetInvalid), io_number);
      if (len > in_capsule.size() - offset) return complete_io(cid, dnr(kDataSglLengthInvalid), io_number);
      return execute(sqe, in_capsule.subspan(size_t(offset), len), len, io_number);
    }
    case wire::kSglTransportDataBlock: {
      if (dir == DataDir::ControllerToHost) return execute(sqe, {}, len, io_number);
      if (binding_.qid != 0 && sqe.opcode() == kOpWrite) {
        Extent extent;
        if (uint16_t st = resolve_read_write(*binding_.controller, namespaces(), sqe, ctx_.options.read_only, extent))
          return complete_io(cid, st, io_number);
        if (extent.length != len) return complete_io(cid, dnr(kDataSglLengthInvalid), io_number);
        return start_transfer(sqe, len, &extent, io_number);
      }
      if (len > kMaxGathered) return complete_io(cid, dnr(kInvalidField), io_number);
      return start_transfer(sqe, len, nullptr, io_number);
    }
    default: return complete_io(cid, dnr(status::kSglDescriptorTypeInvalid), io_number);
  }
}

// Runs a command whose data, if host-to-controller, is all in `data`;
// `data_len` is the transfer length the SGL describes.
bool TcpQueue::execute(const wire::Sqe& sqe, std::span<const uint8_t> data, uint32_t data_len, uint64_t io_number) {
  if (sqe.opcode() == wire::kFabricsOpcode) return execute_fabrics(sqe, data, data_len);
  if (binding_.qid != 0) return execute_io_command(sqe, data, data_len, io_number);
  Reply r = execute_admin(ctx_, *binding_.controller, local_, sqe);
  return reply(sqe, std::move(r), data_len);
}

bool TcpQueue::execute_fabrics(const wire::Sqe& sqe, std::span<const uint8_t> data, uint32_t data_len) {
  using namespace wire::status;
  if (sqe.fctype() == kFctypeConnect) {
    QueueBinding binding;
    Reply r = handle_connect(ctx_, sqe, data, fd_, binding);
    if (r.status == kSuccess) {
      binding_ = std::move(binding);
      sqhd_.store(uint16_t(1 % (uint32_t(binding_.sqsize) + 1)), std::memory_order_relaxed);
      transfers_.resize(size_t(binding_.sqsize) + 1);
      free_ttags_.clear();
      for (size_t i = transfers_.size(); i-- > 0;) free_ttags_.push_back(uint16_t(i));
      if (binding_.auth_required)
        auth_.emplace(*ctx_.options.dhchap, binding_.controller->hostnqn(), binding_.controller->subsystem()->nqn,
                      binding_.qid);
    }
    return reply(sqe, std::move(r), data_len);
  }
  if (sqe.fctype() == kFctypeAuthSend || sqe.fctype() == kFctypeAuthReceive) {
    if (!auth_) return complete(sqe.cid(), dnr(kCommandSequenceError));  // no authentication configured
    return reply(sqe, auth_->handle(sqe, data), data_len);
  }
  if (binding_.qid != 0) return complete(sqe.cid(), dnr(kInvalidOpcode));  // properties: admin queue only
  return reply(sqe, handle_property(*binding_.controller, sqe), data_len);
}

bool TcpQueue::execute_io_command(const wire::Sqe& sqe, std::span<const uint8_t> data, uint32_t data_len,
                                  uint64_t io_number) {
  using namespace wire::status;
  Controller& ctrl = *binding_.controller;
  const uint16_t cid = sqe.cid();
  if (sqe.opcode() != kOpRead && sqe.opcode() != kOpWrite)
    return complete_io(cid, execute_io(ctrl, namespaces(), sqe, data, ctx_.options.read_only), io_number);
  Extent e;
  if (uint16_t st = resolve_read_write(ctrl, namespaces(), sqe, ctx_.options.read_only, e))
    return complete_io(cid, st, io_number);
  if (e.length != data_len) return complete_io(cid, dnr(kDataSglLengthInvalid), io_number);
  if (sqe.opcode() == kOpRead) return send_read(sqe, e, io_number);
  int rc = e.storage->write(data.data(), data.size(), e.offset);
  if (rc == 0 && e.fua) rc = e.storage->flush();
  return complete_io(cid, rc ? status_from_errno(rc, true) : kSuccess, io_number);
}

// ---------- host-to-controller data: R2T / H2CData (NVMe/TCP 1.0 §3.4.2) ----------

bool TcpQueue::start_transfer(const wire::Sqe& sqe, uint32_t length, const Extent* extent, uint64_t io_number) {
  if (free_ttags_.empty()) {  // more commands than the queue has entries
    log::warn("{}: qid {} exceeds its queue size", peer_, binding_.qid);
    return complete_io(sqe.cid(), wire::status::kInternalError, io_number);
  }
  const uint16_t ttag = free_ttags_.back();
  free_ttags_.pop_back();
  Transfer& t = transfers_[ttag];
  t.active = true;
  t.sqe = sqe;
  t.length = length;
  t.requested = t.received = 0;
  t.status = kSuccess;
  t.io_number = io_number;
  if (extent) {
    t.extent = *extent;
    t.gathered.clear();
  } else {
    t.extent = Extent{};
    t.gathered.resize(length);
  }
  return issue_r2ts(ttag);
}

// Keeps up to MAXR2T+1 R2Ts of at most MAXH2CDATA bytes outstanding (NVMe/TCP 1.0 §3.6.2.7).
bool TcpQueue::issue_r2ts(uint16_t ttag) {
  Transfer& t = transfers_[ttag];
  const uint32_t window = ctx_.options.maxh2cdata;
  auto windows = [&](uint32_t bytes) { return (bytes + window - 1) / window; };
  while (t.requested < t.length && windows(t.requested) - t.received / window < max_r2t_) {
    R2t r2t;
    r2t.cccid = t.sqe.cid();
    r2t.ttag = ttag;
    r2t.r2to = t.requested;
    r2t.r2tl = std::min(t.length - t.requested, window);
    t.requested += r2t.r2tl;
    if (t.extent.storage && ctx_.faults.fire(MalformedKind::R2tBeyond, t.io_number)) {
      log::info("fault injection: R2T beyond the write's {} bytes for cid {}", t.length, r2t.cccid);
      r2t.r2tl += 4096;
    }
    if (!send_pdu(encode_r2t(r2t, digests_, tx_header_), {})) return false;
  }
  return true;
}

bool TcpQueue::on_h2c_data(const CommonHeader& ch) {
  const size_t area = header_area_len(ch);
  DataHeader h;
  if (PduError e = decode_data({rx_header_, area}, h); e != PduError::Ok)
    return fatal(term_fes_for(e), fei_for(e), area);
  if (h.ttag >= transfers_.size() || !transfers_[h.ttag].active) return fatal(TermFes::InvalidHeaderField, kFeiTtag, area);
  Transfer& t = transfers_[h.ttag];
  if (t.sqe.cid() != h.cccid) return fatal(TermFes::InvalidHeaderField, kFeiCccid, area);
  // Data arrives in order, inside what R2Ts asked for (NVMe/TCP 1.0 §3.6.2.6).
  if (h.datao != t.received) return fatal(TermFes::DataTransferOutOfRange, kFeiDatao, area);
  if (h.datal > t.requested - t.received) return fatal(TermFes::DataTransferOutOfRange, kFeiDatal, area);
  if (h.datal > ctx_.options.maxh2cdata) return fatal(TermFes::DataTransferLimitExceeded, kFeiDatal, area);

  uint8_t* dst;
  if (t.extent.storage) {
    buffer_.resize(std::max<size_t>(buffer_.size(), ctx_.options.maxh2cdata));
    dst = buffer_.data();
  } else {
    dst = t.gathered.data() + h.datao;
  }
  bool digest_ok = true;
  if (!receive_data(dst, h.datal, ch, digest_ok)) return false;
  if (binding_.controller) binding_.controller->touch();
  if (!digest_ok && t.status == kSuccess) {
    log::warn("{}: data digest error in H2CData cid {} offset {}", peer_, h.cccid, h.datao);
    t.status = status::kTransientTransportError;
  }
  if (t.extent.storage && t.status == kSuccess) {
    if (int rc = t.extent.storage->write(dst, h.datal, t.extent.offset + h.datao))
      t.status = status_from_errno(rc, true);
  }
  t.received += h.datal;
  return t.received == t.length ? finish_transfer(h.ttag) : issue_r2ts(h.ttag);
}

bool TcpQueue::finish_transfer(uint16_t ttag) {
  Transfer& t = transfers_[ttag];
  t.active = false;
  free_ttags_.push_back(ttag);
  if (!retired_tables_.empty() && free_ttags_.size() == transfers_.size()) retired_tables_.clear();
  const wire::Sqe sqe = t.sqe;
  if (t.status != kSuccess) return complete_io(sqe.cid(), t.status, t.io_number);
  if (t.extent.storage) {  // a Write: the data is already in storage
    int rc = t.extent.fua ? t.extent.storage->flush() : 0;
    return complete_io(sqe.cid(), rc ? status_from_errno(rc, true) : kSuccess, t.io_number);
  }
  std::vector<uint8_t> data = std::move(t.gathered);
  const uint64_t io_number = t.io_number;
  // `t` may not survive execute(): Connect resizes transfers_.
  bool ok = execute(sqe, data, uint32_t(data.size()), io_number);
  if (ttag < transfers_.size()) {
    data.clear();  // keep the capacity for the slot's next transfer
    transfers_[ttag].gathered = std::move(data);
  }
  return ok;
}

bool TcpQueue::on_term_req(const CommonHeader& ch) {
  uint8_t pdu[kMaxTermReqPlen];
  const size_t area = header_area_len(ch);
  std::copy_n(rx_header_, area, pdu);
  const size_t rest = std::min<size_t>(ch.plen, sizeof pdu) - area;
  if (stream_.read_all(pdu + area, rest) != 0) return false;
  TermReq term;
  if (decode_term_req({pdu, area + rest}, term) == PduError::Ok)
    log::warn("{}: host terminated the connection (H2CTermReq FES {:#x}, FEI {:#x})", peer_, uint16_t(term.fes),
              term.fei);
  return false;
}

// ---------- controller-to-host ----------

bool TcpQueue::send_read(const wire::Sqe& sqe, const Extent& e, uint64_t io_number) {
  buffer_.resize(std::max<size_t>(buffer_.size(), std::min<uint64_t>(e.length, kC2hChunk)));
  const bool success_flag = binding_.sq_flow_control_disabled;
  for (uint64_t done = 0; done < e.length;) {
    const uint32_t n = uint32_t(std::min<uint64_t>(e.length - done, kC2hChunk));
    if (int rc = e.storage->read(buffer_.data(), n, e.offset + done))
      return complete_io(sqe.cid(), status_from_errno(rc, false), io_number);
    const bool last = done + n == e.length;
    if (!send_c2h_data(sqe.cid(), uint32_t(done), {buffer_.data(), n}, last, last && success_flag, io_number))
      return false;
    done += n;
  }
  if (success_flag) {  // the C2HData SUCCESS flag was the completion (NVMe/TCP 1.0 §3.6.2.8)
    return !ctx_.faults.should_close(io_number);
  }
  return complete_io(sqe.cid(), kSuccess, io_number);
}

bool TcpQueue::reply(const wire::Sqe& sqe, Reply r, uint32_t data_len) {
  if (r.hold) {
    if (!event_sender_.joinable()) start_event_sender();
    return true;
  }
  if (r.status == kSuccess && !r.data.empty() && data_len > 0) {
    size_t n = std::min<size_t>(r.data.size(), data_len);
    if (!send_c2h_data(sqe.cid(), 0, {r.data.data(), n}, true, false, 0)) return false;
  }
  return complete(sqe.cid(), r.status, r.dw0, r.dw1);
}

bool TcpQueue::complete(uint16_t cid, uint16_t status, uint32_t dw0, uint32_t dw1) {
  wire::Cqe cqe;
  cqe.set_dw0(dw0);
  cqe.set_dw1(dw1);
  cqe.set_sqhd(sqhd_.load(std::memory_order_relaxed));
  cqe.set_sqid(binding_.qid);
  cqe.set_cid(cid);
  cqe.set_status(status);
  if (status != kSuccess)
    log::debug("{}: qid {} cid {} completes with {:#x} ({})", peer_, binding_.qid, cid, status,
               wire::status_name(status));
  return send_pdu(encode_capsule_resp(cqe, digests_, tx_header_), {});
}

// Completion of an I/O command (io_number > 0), with the faults that act there.
bool TcpQueue::complete_io(uint16_t cid, uint16_t status, uint64_t io_number) {
  if (io_number == 0) return complete(cid, status);
  const MalformedKind kind = ctx_.faults.options().malformed_kind;
  if (is_capsule_resp_kind(kind) && ctx_.faults.fire(kind, io_number)) return send_malformed_resp(cid, kind);
  if (!complete(cid, status)) return false;
  if (ctx_.faults.should_close(io_number)) {
    log::info("fault injection: closing qid {} after I/O command {}", binding_.qid, io_number);
    return false;
  }
  return true;
}

bool TcpQueue::send_c2h_data(uint16_t cid, uint32_t offset, std::span<const uint8_t> data, bool last, bool success,
                             uint64_t io_number) {
  DataHeader h;
  h.cccid = cid;
  h.datao = offset;
  h.datal = uint32_t(data.size());
  h.flags = uint8_t((last ? kFlagLastPdu : 0) | (success ? kFlagSuccess : 0));
  bool corrupt = false;
  if (io_number && offset == 0) {
    const MalformedKind kind = ctx_.faults.options().malformed_kind;
    if (is_c2h_data_kind(kind) && ctx_.faults.fire(kind, io_number)) return send_malformed_c2h_data(h, data, kind);
    corrupt = digests_.data && ctx_.faults.should_corrupt_digest(io_number);
    if (corrupt) log::info("fault injection: corrupt data digest of C2HData for cid {}", cid);
  }
  return send_pdu(encode_c2h_data(h, digests_, hpda_, tx_header_), data, corrupt);
}

// Fault injection: a C2HData PDU broken as `kind` says. False when the connection must close.
bool TcpQueue::send_malformed_c2h_data(DataHeader h, std::span<const uint8_t> data, MalformedKind kind) {
  log::info("fault injection: C2HData with {} for cid {}", malformed_kind_name(kind), h.cccid);
  if (kind == MalformedKind::DataOffset) h.datao = 0x40000000u;
  if (kind == MalformedKind::UnknownCid) h.cccid = uint16_t(~h.cccid);
  const size_t n = encode_c2h_data(h, digests_, hpda_, tx_header_);
  switch (kind) {
    case MalformedKind::Truncated: {
      iovec iov{tx_header_, kDataHlen / 2};
      stream_.write_all(&iov, 1);
      return false;
    }
    case MalformedKind::BadHlen: tx_header_[kHlenOffset] = 0x20; break;
    case MalformedKind::BadPdo: tx_header_[kPdoOffset] = kCommonHeaderLen; break;
    case MalformedKind::BadDatal: wire::put_le32(tx_header_ + kDatalOffset, h.datal + 4); break;
    default: break;
  }
  return send_pdu(n, data);
}

// Fault injection: a CapsuleResp broken as `kind` says, in place of a completion.
bool TcpQueue::send_malformed_resp(uint16_t cid, MalformedKind kind) {
  log::info("fault injection: CapsuleResp with {} for cid {}", malformed_kind_name(kind), cid);
  wire::Cqe cqe;
  cqe.set_sqhd(sqhd_.load(std::memory_order_relaxed));
  cqe.set_sqid(binding_.qid);
  cqe.set_cid(kind == MalformedKind::UnknownCidResp ? uint16_t(~cid) : cid);
  const size_t n = encode_capsule_resp(cqe, digests_, tx_header_);
  switch (kind) {
    case MalformedKind::HugePlen: wire::put_le32(tx_header_ + kPlenOffset, 0xFFFFFFFFu); break;
    case MalformedKind::BadPlen: wire::put_le32(tx_header_ + kPlenOffset, kCommonHeaderLen); break;
    case MalformedKind::HeaderDigest:
      if (digests_.header) tx_header_[kCapsuleRespHlen] ^= 1;  // the digest follows the header
      break;
    default: break;
  }
  return send_pdu(n, {});
}

// Header area (already in tx_header_), data, data digest: one writev.
bool TcpQueue::send_pdu(size_t header_len, std::span<const uint8_t> data, bool corrupt_digest) {
  if (header_len == 0) {
    log::error("{}: PDU encoding failed", peer_);
    return false;
  }
  std::unique_lock send_lock(send_mu_, std::defer_lock);
  if (send_locked_) send_lock.lock();  // admin queues with an event sender only: I/O queues never lock
  uint8_t digest[kDigestLen];
  iovec iov[3];
  int n = 0;
  iov[n++] = {tx_header_, header_len};
  if (!data.empty()) {
    iov[n++] = {const_cast<uint8_t*>(data.data()), data.size()};
    if (digests_.data) {
      wire::put_le32(digest, wire::crc32c(data.data(), data.size()) ^ (corrupt_digest ? 1u : 0u));
      iov[n++] = {digest, kDigestLen};
    }
  }
  if (int r = stream_.write_all(iov, n); r != 0) {
    log::debug("{}: send failed: {}", peer_, std::strerror(-r));
    return false;
  }
  return true;
}

const NamespaceTable& TcpQueue::namespaces() {
  Subsystem& sub = *binding_.controller->subsystem();
  const uint64_t generation = sub.generation();
  if (generation != ns_generation_) {
    // A Write may still be receiving data into the old table's storage.
    if (ns_table_ && free_ttags_.size() != transfers_.size()) retired_tables_.push_back(std::move(ns_table_));
    ns_table_ = sub.namespaces();
    ns_generation_ = generation;
  }
  return *ns_table_;
}

void TcpQueue::start_event_sender() {
  send_locked_ = true;
  event_sender_ = std::thread([this] { send_async_events(); });
}

// AER completions (NVMe Base 2.0 §5.2.1): a CapsuleResp with the event in DW0,
// sent between this queue's own PDUs (send_mu_), with its own header buffer.
void TcpQueue::send_async_events() {
  uint8_t header[kMaxHeaderArea];
  while (auto event = binding_.controller->events().next()) {
    wire::Cqe cqe;
    cqe.set_dw0(event->dw0);
    cqe.set_sqhd(sqhd_.load(std::memory_order_relaxed));
    cqe.set_sqid(0);
    cqe.set_cid(event->cid);
    cqe.set_status(kSuccess);
    const size_t n = encode_capsule_resp(cqe, digests_, header);
    log::debug("{}: asynchronous event {:#x} completes cid {}", peer_, event->dw0, event->cid);
    iovec iov{header, n};
    std::lock_guard lock(send_mu_);
    if (stream_.write_all(&iov, 1) != 0) return;
  }
}

// A fatal transport error: C2HTermReq with the offending header, then close (NVMe/TCP 1.0 §3.6.2.5, §3.7).
bool TcpQueue::fatal(TermFes fes, uint32_t fei, size_t offending_len) {
  log::warn("{}: fatal transport error (FES {:#x}, FEI {}), sending C2HTermReq", peer_, uint16_t(fes), fei);
  TermReq term;
  term.fes = fes;
  term.fei = fei;
  term.pdu_header = {rx_header_, std::min(offending_len, kMaxTermReqData)};
  send_pdu(encode_term_req(PduType::C2HTermReq, term, tx_header_), {});  // no digests on TermReqs
  return false;
}

}  // namespace nvmefs::target
