#include "trace.hpp"

#include <cstring>

#include "nvmefs/common/log.hpp"

namespace nvmefs::host {

namespace {

const char* opcode_name(uint16_t qid, uint8_t opc) {
  if (opc == wire::kFabricsOpcode) return "fabrics";
  if (qid == 0) {
    switch (opc) {
      case 0x02: return "get-log-page";
      case 0x06: return "identify";
      case 0x09: return "set-features";
      case 0x0A: return "get-features";
      case 0x0C: return "async-event";
      case 0x18: return "keep-alive";
      default: return "admin";
    }
  }
  switch (opc) {
    case 0x00: return "flush";
    case 0x01: return "write";
    case 0x02: return "read";
    case 0x08: return "write-zeroes";
    case 0x09: return "dsm";
    default: return "io";
  }
}

// SLBA/NLB are meaningful for read, write and write zeroes (NVM Command Set §3.2).
bool has_lba_range(uint16_t qid, uint8_t opc) { return qid != 0 && (opc == 0x01 || opc == 0x02 || opc == 0x08); }

}  // namespace

void trace_command_sent(uint16_t qid, const wire::Sqe& sqe, uint32_t data_len) {
  if (!log::enabled(log::Level::Trace)) return;
  const uint8_t opc = sqe.opcode();
  if (has_lba_range(qid, opc))
    log::trace("qid {} cid {} {} nsid {} slba {} nlb {} len {}", qid, sqe.cid(), opcode_name(qid, opc), sqe.nsid(),
               uint64_t(sqe.cdw(10)) | (uint64_t(sqe.cdw(11)) << 32), (sqe.cdw(12) & 0xFFFF) + 1, data_len);
  else
    log::trace("qid {} cid {} {} (opc {:#04x}) nsid {} cdw10 {:#x} len {}", qid, sqe.cid(), opcode_name(qid, opc),
               opc, sqe.nsid(), sqe.cdw(10), data_len);
}

void trace_command_done(uint16_t qid, const wire::Sqe& sqe, int err, const wire::Cqe* cqe) {
  if (!log::enabled(log::Level::Trace)) return;
  if (cqe)
    log::trace("qid {} cid {} {} done status {:#x} ({}) dw0 {:#x}", qid, sqe.cid(), opcode_name(qid, sqe.opcode()),
               cqe->status(), wire::status_name(cqe->status()), cqe->dw0());
  else
    log::trace("qid {} cid {} {} failed: {}", qid, sqe.cid(), opcode_name(qid, sqe.opcode()), std::strerror(-err));
}

}  // namespace nvmefs::host
