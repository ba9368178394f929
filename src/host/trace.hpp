// `-o debug` tracing of commands: one log::trace line per command sent and
// per completion (opcode, cid, nsid, slba, nlb, status).
#pragma once

#include <cstdint>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

void trace_command_sent(uint16_t qid, const wire::Sqe& sqe, uint32_t data_len);
// cqe null: the command ended without a completion (err says why).
void trace_command_done(uint16_t qid, const wire::Sqe& sqe, int err, const wire::Cqe* cqe);

}  // namespace nvmefs::host
