// NVMe/TCP queue pair, host side (NVMe/TCP Transport Specification 1.0, "TCP §").
//
// Threads: send_command() runs on the submitter's thread under send_mu_.
// One receive thread per queue pair reads PDUs with blocking reads, puts
// C2HData straight into the command's buffer, answers R2T with H2CData
// (under the same send_mu_), and reports completions upward. A failure (from
// either side, or abort()) is recorded once, the socket is shut down, and the
// receive thread then reports on_broken() exactly once.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/transport/byte_stream.hpp"
#include "nvmefs/transport/tcp.hpp"
#include "nvmefs/transport/tls.hpp"
#include "nvmefs/wire/crc32c.hpp"
#include "nvmefs/wire/tcp_pdu.hpp"
#include "socket_io.hpp"

namespace nvmefs::transport {

namespace tcp = wire::tcp;

namespace {

// Where the CID sits inside the header of each PDU type, for TermReq FEI.
constexpr uint32_t kCqeCidOffset = 8 + 12;  // CapsuleResp: CH + CQE bytes 12..13
constexpr uint32_t kDataCidOffset = 8;      // C2HData / R2T: CCCID right after the CH
constexpr uint32_t kDataOffsetField = 12;   // C2HData DATAO / R2T R2TO

// State of one command identifier, shared between the sender and the receive thread.
struct CmdState {
  void* buf = nullptr;
  uint32_t len = 0;
  DataDir dir = DataDir::None;
  uint32_t received = 0;      // C2HData bytes so far
  bool data_error = false;    // a data digest failed: complete with Data Transfer Error
  std::atomic<bool> in_flight{false};
};

class TcpQueuePair final : public QueuePair {
 public:
  TcpQueuePair(int fd, std::string peer, const TcpParams& p)
      : fd_(fd), peer_(std::move(peer)), params_(p), max_inline_(p.max_inline_data), cmds_(p.nr_cids) {}

  // The byte stream PDUs travel on: the socket itself, or TLS over it (handshake first).
  void open_stream(uint32_t timeout_ms) {
    stream_ = params_.tls ? tls_client_stream(fd_, *params_.tls, peer_, timeout_ms) : plain_stream(fd_);
  }

  ~TcpQueuePair() override { close(); }

  void handshake(uint32_t timeout_ms);

  void start(QueueEvents* events) override {
    events_ = events;
    receiver_ = std::thread([this] { receive_loop(); });
  }

  int send_command(wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) override;

  void abort(int err, const std::string& why) override { fail(err, why); }

  void close() override {
    if (fd_ < 0) return;
    fail(-ENOTCONN, "queue closed");
    if (receiver_.joinable()) receiver_.join();
    stream_.reset();
    ::close(fd_);
    fd_ = -1;
  }

  void set_max_inline_data(uint32_t bytes) override { max_inline_ = bytes; }
  bool header_digest() const override { return digests_.header; }
  bool data_digest() const override { return digests_.data; }
  uint32_t max_h2c_data() const override { return maxh2cdata_; }

 private:
  void receive_loop();
  int receive_pdu();
  int on_capsule_resp(std::span<const uint8_t> hdr);
  int on_c2h_data(const tcp::CommonHeader& ch, std::span<const uint8_t> hdr);
  int on_r2t(std::span<const uint8_t> hdr);
  int on_c2h_term_req(const tcp::CommonHeader& ch, std::span<const uint8_t> hdr);
  int send_h2c_data(uint16_t cid, uint16_t ttag, uint32_t offset, uint32_t length);

  // The CmdState of a CID the controller names, or nullptr if no such command is in flight.
  CmdState* lookup(uint16_t cid) {
    if (cid >= cmds_.size() || !cmds_[cid].in_flight.load(std::memory_order_acquire)) return nullptr;
    return &cmds_[cid];
  }
  // Records the first failure and shuts the socket down (wakes the receive thread).
  void fail(int err, const std::string& why);
  // A fatal protocol error from the controller: H2CTermReq (TCP §3.6.2.4), then fail.
  int protocol_error(tcp::TermFes fes, uint32_t fei, std::span<const uint8_t> header, const std::string& why);
  int parse_error(tcp::PduError e, std::span<const uint8_t> header, const char* what);
  int io_error(int err);
  int skip(size_t n);

  int fd_;
  std::unique_ptr<ByteStream> stream_;
  const std::string peer_;
  const TcpParams params_;
  std::atomic<uint32_t> max_inline_;
  tcp::Digests digests_;
  uint8_t cpda_ = 0;
  uint32_t maxh2cdata_ = 0;
  uint32_t max_plen_ = 0;
  std::vector<CmdState> cmds_;

  QueueEvents* events_ = nullptr;
  std::thread receiver_;

  std::mutex send_mu_;   // one writer on the socket at a time; guards broken_
  bool broken_ = false;  // set by the receive thread right before on_broken()

  std::mutex fail_mu_;
  bool failed_ = false;
  int fail_err_ = 0;
  std::string fail_why_;
};

void TcpQueuePair::handshake(uint32_t timeout_ms) {
  // TCP §3.6.2.2: ICReq with PFV 0, HPDA 0 (no alignment needed by this host),
  // the digests we want, MAXR2T 0 (one R2T outstanding per command, 0-based).
  stream_->set_timeout(timeout_ms);
  uint8_t buf[tcp::kMaxHeaderArea];
  tcp::IcReq req;
  req.digests = {params_.header_digest, params_.data_digest};
  size_t n = tcp::encode_icreq(req, buf);
  iovec iov{buf, n};
  int r = stream_->write_all(&iov, 1);
  if (r == 0) r = stream_->read_all(buf, tcp::kIcRespHlen);
  if (r == -ETIMEDOUT) throw Error(fmt::format("{}: no ICResp within {} ms", peer_, timeout_ms), ETIMEDOUT);
  if (r == -ECONNRESET)
    throw Error(fmt::format("{}: connection closed during ICReq/ICResp{}", peer_,
                            params_.tls ? "" : " (does the port require TLS?)"),
                ECONNRESET);
  if (r < 0) throw Error(fmt::format("{}: ICReq/ICResp: {}", peer_, std::strerror(-r)), -r);

  tcp::CommonHeader ch;
  tcp::IcResp resp;
  auto e = tcp::parse_common_header({buf, tcp::kCommonHeaderLen}, tcp::Receiver::Host, {}, tcp::kIcRespHlen, ch);
  if (e == tcp::PduError::Ok && ch.type != tcp::PduType::ICResp) e = tcp::PduError::UnknownType;
  if (e == tcp::PduError::Ok) e = tcp::decode_icresp({buf, tcp::kIcRespHlen}, resp);
  if (e != tcp::PduError::Ok)
    throw Error(fmt::format("{}: bad ICResp ({})", peer_, tcp::pdu_error_name(e)), EPROTO);
  // The controller enables exactly the digests asked for, or the queue cannot work (TCP §3.6.2.3).
  if (resp.digests.header != req.digests.header || resp.digests.data != req.digests.data)
    throw Error(fmt::format("{}: controller answered header/data digest {}/{} to a request for {}/{}", peer_,
                            resp.digests.header ? "on" : "off", resp.digests.data ? "on" : "off",
                            req.digests.header ? "on" : "off", req.digests.data ? "on" : "off"),
                EPROTO);
  if (resp.maxh2cdata < 4096 || resp.cpda > 31)
    throw Error(fmt::format("{}: ICResp has invalid MAXH2CDATA {} or CPDA {}", peer_, resp.maxh2cdata, resp.cpda),
                EPROTO);
  digests_ = resp.digests;
  cpda_ = resp.cpda;
  maxh2cdata_ = resp.maxh2cdata;
  // No PDU this host accepts is longer than header area + one command's data + digest.
  max_plen_ = uint32_t(tcp::kMaxHeaderArea + params_.max_data_len + tcp::kDigestLen);
  stream_->set_timeout(0);
  if (params_.trace)
    log::trace("qid {}: ICResp pfv {} cpda {} maxh2cdata {} hdgst {} ddgst {}", params_.qid, resp.pfv, resp.cpda,
               resp.maxh2cdata, digests_.header, digests_.data);
}

int TcpQueuePair::send_command(wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) {
  const uint16_t cid = sqe.cid();
  if (cid >= cmds_.size() || len > params_.max_data_len) return -EINVAL;
  const bool in_capsule = dir == DataDir::ToController && len > 0 && len <= max_inline_.load();
  // NVMe/TCP §3.3.2 / Base §4.3.2: SGL Data Block with Offset for in-capsule
  // data, Transport SGL Data Block for data moved by R2T/H2CData or C2HData.
  sqe.set_flags(uint8_t((sqe.flags() & 0x3F) | wire::kPsdtSgl));
  sqe.set_sgl(0, dir == DataDir::None ? 0 : len,
              in_capsule ? wire::kSglDataBlockOffset : wire::kSglTransportDataBlock);

  uint8_t hdr[tcp::kMaxHeaderArea];
  const size_t hlen = tcp::encode_capsule_cmd(sqe, in_capsule ? len : 0, digests_, cpda_, hdr);
  uint8_t ddgst[4];
  iovec iov[3] = {{hdr, hlen}, {nullptr, 0}, {nullptr, 0}};
  int n = 1;
  if (in_capsule) {
    iov[n++] = {data, len};
    if (digests_.data) {
      wire::put_le32(ddgst, wire::crc32c(data, len));
      iov[n++] = {ddgst, sizeof ddgst};
    }
  }

  std::lock_guard lk(send_mu_);
  if (broken_) return -ENOTCONN;
  CmdState& st = cmds_[cid];
  st.buf = data;
  st.len = len;
  st.dir = dir;
  st.received = 0;
  st.data_error = false;
  st.in_flight.store(true, std::memory_order_release);
  if (params_.trace)
    log::trace("qid {}: send CapsuleCmd cid {} data {} ({})", params_.qid, cid, len,
               in_capsule ? "in-capsule" : "transport SGL");
  int r = stream_->write_all(iov, n);
  if (r < 0) fail(r, fmt::format("send to {}: {}", peer_, std::strerror(-r)));
  return 0;  // handed over: it completes by on_completion or on_broken
}

void TcpQueuePair::fail(int err, const std::string& why) {
  {
    std::lock_guard lk(fail_mu_);
    if (failed_) return;
    failed_ = true;
    fail_err_ = err;
    fail_why_ = why;
  }
  ::shutdown(fd_, SHUT_RDWR);
}

int TcpQueuePair::io_error(int err) {
  if (err == -ECONNRESET) fail(-ENOTCONN, fmt::format("{} closed the connection", peer_));
  else fail(-ENOTCONN, fmt::format("receive from {}: {}", peer_, std::strerror(-err)));
  return err;
}

int TcpQueuePair::protocol_error(tcp::TermFes fes, uint32_t fei, std::span<const uint8_t> header,
                                 const std::string& why) {
  uint8_t buf[tcp::kMaxHeaderArea + tcp::kMaxTermReqData];
  tcp::TermReq term{fes, fei, header.first(std::min(header.size(), tcp::kMaxTermReqData))};
  size_t n = tcp::encode_term_req(tcp::PduType::H2CTermReq, term, buf);
  {
    std::lock_guard lk(send_mu_);
    iovec iov{buf, n};
    stream_->write_all(&iov, 1);  // best effort: the connection ends either way
  }
  fail(-EPROTO, fmt::format("{}: protocol error: {}", peer_, why));
  return -EPROTO;
}

int TcpQueuePair::parse_error(tcp::PduError e, std::span<const uint8_t> header, const char* what) {
  return protocol_error(tcp::term_fes_for(e), 0, header,
                        fmt::format("bad {} PDU ({})", what, tcp::pdu_error_name(e)));
}

int TcpQueuePair::skip(size_t n) {
  uint8_t scratch[256];
  while (n > 0) {
    size_t k = std::min(n, sizeof scratch);
    if (int r = stream_->read_all(scratch, k); r < 0) return io_error(r);
    n -= k;
  }
  return 0;
}

void TcpQueuePair::receive_loop() {
  while (receive_pdu() == 0) {
  }
  int err;
  std::string why;
  {
    std::lock_guard lk(fail_mu_);
    err = fail_err_;
    why = fail_why_;
  }
  {
    std::lock_guard lk(send_mu_);  // waits for a send in progress; none starts afterwards
    broken_ = true;
  }
  for (auto& c : cmds_) c.in_flight.store(false, std::memory_order_relaxed);
  events_->on_broken(err, why);
}

int TcpQueuePair::receive_pdu() {
  uint8_t hdr[tcp::kMaxHeaderArea];
  if (int r = stream_->read_all(hdr, tcp::kCommonHeaderLen); r < 0) return io_error(r);
  tcp::CommonHeader ch;
  auto e = tcp::parse_common_header({hdr, tcp::kCommonHeaderLen}, tcp::Receiver::Host, digests_, max_plen_, ch);
  if (e != tcp::PduError::Ok) return parse_error(e, {hdr, tcp::kCommonHeaderLen}, "incoming");
  const size_t hal = tcp::header_area_len(ch);
  if (hal > sizeof hdr || hal < tcp::kCommonHeaderLen)
    return parse_error(tcp::PduError::BadHlen, {hdr, tcp::kCommonHeaderLen}, "incoming");
  if (int r = stream_->read_all(hdr + tcp::kCommonHeaderLen, hal - tcp::kCommonHeaderLen); r < 0) return io_error(r);
  std::span<const uint8_t> header{hdr, hal};
  if (digests_.header && ch.type != tcp::PduType::C2HTermReq && !tcp::verify_header_digest(header, ch))
    return protocol_error(tcp::TermFes::HeaderDigestError, 0, header, "header digest mismatch");

  switch (ch.type) {
    case tcp::PduType::CapsuleResp: return on_capsule_resp(header);
    case tcp::PduType::C2HData: return on_c2h_data(ch, header);
    case tcp::PduType::R2T: return on_r2t(header);
    case tcp::PduType::C2HTermReq: return on_c2h_term_req(ch, header);
    default:
      return protocol_error(tcp::TermFes::InvalidHeaderField, 0, header,
                            fmt::format("unexpected {} PDU", tcp::pdu_type_name(ch.type)));
  }
}

int TcpQueuePair::on_capsule_resp(std::span<const uint8_t> hdr) {
  wire::Cqe cqe;
  if (auto e = tcp::decode_capsule_resp(hdr, cqe); e != tcp::PduError::Ok) return parse_error(e, hdr, "CapsuleResp");
  CmdState* st = lookup(cqe.cid());
  if (!st)
    return protocol_error(tcp::TermFes::InvalidHeaderField, kCqeCidOffset, hdr,
                          fmt::format("completion for unknown command id {}", cqe.cid()));
  if (st->data_error && cqe.status() == wire::status::kSuccess) cqe.set_status(wire::status::kDataTransferError);
  st->in_flight.store(false, std::memory_order_relaxed);
  events_->on_completion(cqe);
  return 0;
}

int TcpQueuePair::on_c2h_data(const tcp::CommonHeader& ch, std::span<const uint8_t> hdr) {
  tcp::DataHeader dh;
  if (auto e = tcp::decode_data(hdr, dh); e != tcp::PduError::Ok) return parse_error(e, hdr, "C2HData");
  CmdState* st = lookup(dh.cccid);
  if (!st || st->dir != DataDir::FromController)
    return protocol_error(tcp::TermFes::InvalidHeaderField, kDataCidOffset, hdr,
                          fmt::format("C2HData for command id {} which reads no data", dh.cccid));
  if (uint64_t(dh.datao) + dh.datal > st->len)
    return protocol_error(tcp::TermFes::DataTransferOutOfRange, kDataOffsetField, hdr,
                          fmt::format("C2HData bytes {}..{} outside the {}-byte buffer of command id {}", dh.datao,
                                      uint64_t(dh.datao) + dh.datal, st->len, dh.cccid));
  if (int r = skip(tcp::data_offset(ch) - hdr.size()); r < 0) return r;  // padding up to PDO

  // Straight into the caller's buffer, digest (if any) in the same call.
  uint8_t ddgst[4];
  uint8_t* dst = static_cast<uint8_t*>(st->buf) + dh.datao;
  iovec iov[2] = {{dst, dh.datal}, {ddgst, sizeof ddgst}};
  const bool has_ddgst = tcp::has_data_digest(ch);
  if (int r = stream_->read_all(iov, has_ddgst ? 2 : 1); r < 0) return io_error(r);
  if (has_ddgst && wire::get_le32(ddgst) != wire::crc32c(dst, dh.datal)) {
    // Not fatal for the connection: the command fails (Linux host does the same).
    log::warn("{}: data digest mismatch in C2HData for command id {}", peer_, dh.cccid);
    st->data_error = true;
  }
  st->received += dh.datal;
  if (params_.trace)
    log::trace("qid {}: C2HData cid {} datao {} datal {} flags {:#x}", params_.qid, dh.cccid, dh.datao, dh.datal,
               dh.flags);

  if (dh.flags & tcp::kFlagSuccess) {
    // TCP §3.6.2.8: SUCCESS means the command completed; no CapsuleResp follows.
    wire::Cqe cqe;
    cqe.set_cid(dh.cccid);
    const bool complete = st->received == st->len && !st->data_error;
    cqe.set_status(complete ? wire::status::kSuccess : wire::status::kDataTransferError);
    st->in_flight.store(false, std::memory_order_relaxed);
    events_->on_completion(cqe);
  }
  return 0;
}

int TcpQueuePair::on_r2t(std::span<const uint8_t> hdr) {
  tcp::R2t r2t;
  if (auto e = tcp::decode_r2t(hdr, r2t); e != tcp::PduError::Ok) return parse_error(e, hdr, "R2T");
  CmdState* st = lookup(r2t.cccid);
  if (!st || st->dir != DataDir::ToController)
    return protocol_error(tcp::TermFes::InvalidHeaderField, kDataCidOffset, hdr,
                          fmt::format("R2T for command id {} which writes no data", r2t.cccid));
  if (uint64_t(r2t.r2to) + r2t.r2tl > st->len)
    return protocol_error(tcp::TermFes::DataTransferOutOfRange, kDataOffsetField, hdr,
                          fmt::format("R2T asks for bytes {}..{} of the {}-byte buffer of command id {}", r2t.r2to,
                                      uint64_t(r2t.r2to) + r2t.r2tl, st->len, r2t.cccid));
  if (params_.trace)
    log::trace("qid {}: R2T cid {} ttag {} r2to {} r2tl {}", params_.qid, r2t.cccid, r2t.ttag, r2t.r2to, r2t.r2tl);
  return send_h2c_data(r2t.cccid, r2t.ttag, r2t.r2to, r2t.r2tl);
}

int TcpQueuePair::send_h2c_data(uint16_t cid, uint16_t ttag, uint32_t offset, uint32_t length) {
  const CmdState& st = cmds_[cid];
  std::lock_guard lk(send_mu_);
  // TCP §3.6.2.7: the R2T's range in H2CData PDUs of at most MAXH2CDATA bytes,
  // LAST_PDU on the last one.
  for (uint32_t done = 0; done < length;) {
    const uint32_t chunk = std::min(length - done, maxh2cdata_);
    const bool last = done + chunk == length;
    tcp::DataHeader dh;
    dh.cccid = cid;
    dh.ttag = ttag;
    dh.datao = offset + done;
    dh.datal = chunk;
    dh.flags = last ? tcp::kFlagLastPdu : 0;
    uint8_t hdr[tcp::kMaxHeaderArea];
    const size_t hlen = tcp::encode_h2c_data(dh, digests_, cpda_, hdr);
    uint8_t* src = static_cast<uint8_t*>(st.buf) + dh.datao;
    uint8_t ddgst[4];
    iovec iov[3] = {{hdr, hlen}, {src, chunk}, {ddgst, sizeof ddgst}};
    if (digests_.data) wire::put_le32(ddgst, wire::crc32c(src, chunk));
    if (int r = stream_->write_all(iov, digests_.data ? 3 : 2, !last); r < 0) {
      fail(-ENOTCONN, fmt::format("send to {}: {}", peer_, std::strerror(-r)));
      return r;
    }
    done += chunk;
  }
  return 0;
}

int TcpQueuePair::on_c2h_term_req(const tcp::CommonHeader& ch, std::span<const uint8_t> hdr) {
  uint8_t pdu[tcp::kTermReqHlen + tcp::kMaxTermReqData];
  if (ch.plen > sizeof pdu || ch.plen < hdr.size())
    return protocol_error(tcp::TermFes::InvalidHeaderField, 4, hdr, "C2HTermReq longer than allowed");
  std::memcpy(pdu, hdr.data(), hdr.size());
  if (int r = stream_->read_all(pdu + hdr.size(), ch.plen - hdr.size()); r < 0) return io_error(r);
  tcp::TermReq term;
  if (auto e = tcp::decode_term_req({pdu, ch.plen}, term); e != tcp::PduError::Ok) {
    fail(-EPROTO, fmt::format("{} terminated the connection (unreadable C2HTermReq)", peer_));
    return -EPROTO;
  }
  static constexpr const char* kFesNames[] = {"?", "invalid PDU header field", "PDU sequence error",
                                              "header digest error", "data transfer out of range",
                                              "data transfer limit exceeded", "unsupported parameter"};
  const auto fes = unsigned(term.fes);
  fail(-EPROTO, fmt::format("{} terminated the connection: {} (FES {:#x}, FEI {:#x})", peer_,
                            fes < std::size(kFesNames) ? kFesNames[fes] : "unknown error", fes, term.fei));
  return -EPROTO;
}

std::unique_ptr<TcpQueuePair> make_queue_pair(int fd, const std::string& peer, const TcpParams& params,
                                              uint32_t timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  auto qp = std::make_unique<TcpQueuePair>(fd, peer, params);
  qp->open_stream(timeout_ms);  // on throw, the destructor closes fd
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  qp->handshake(uint32_t(std::max<int64_t>(int64_t(timeout_ms) - spent.count(), 1)));
  return qp;
}

}  // namespace

std::unique_ptr<QueuePair> tcp_connect(const std::string& host, const std::string& port, const TcpParams& params,
                                       uint32_t timeout_ms) {
  int fd = connect_tcp(host, port, timeout_ms);
  return make_queue_pair(fd, fmt::format("{}:{}", host, port), params, timeout_ms);
}

std::unique_ptr<QueuePair> tcp_over_socket(int fd, const std::string& peer, const TcpParams& params,
                                           uint32_t timeout_ms) {
  return make_queue_pair(fd, peer, params, timeout_ms);
}

}  // namespace nvmefs::transport
