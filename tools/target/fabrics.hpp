// Fabrics commands (NVMe-oF 1.1 §3): Connect, Property Get, Property Set.
#pragma once

#include <memory>
#include <span>

#include "command.hpp"
#include "controller.hpp"
#include "target_context.hpp"

namespace nvmefs::target {

// What Connect decided about the queue it arrived on.
struct QueueBinding {
  std::shared_ptr<Controller> controller;
  uint16_t qid = 0;
  uint16_t sqsize = 0;                 // 0-based
  bool sq_flow_control_disabled = false;
  bool auth_required = false;          // AUTHREQ.ATR set: DH-HMAC-CHAP before other commands
};

// Connect (NVMe-oF 1.1 §3.3). `data` is the 1024-byte Connect data. On
// success fills `binding` and attaches queue `fd` to the controller.
Reply handle_connect(TargetContext& ctx, const wire::Sqe& sqe, std::span<const uint8_t> data, int fd,
                     QueueBinding& binding);

// Property Get / Property Set (NVMe-oF 1.1 §3.4, §3.5).
Reply handle_property(Controller& ctrl, const wire::Sqe& sqe);

// Fabrics command types (NVMe-oF 1.1 Figure 9).
inline constexpr uint8_t kFctypePropertySet = 0x00;
inline constexpr uint8_t kFctypeConnect = 0x01;
inline constexpr uint8_t kFctypePropertyGet = 0x04;

}  // namespace nvmefs::target
