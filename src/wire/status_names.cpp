// Names of NVMe status values (SCT << 8 | SC): NVMe Base 2.0 §4.6.1.2
// (generic, Figure 102), §4.6.1.2.2 (command specific, incl. fabrics
// Figure 104), §4.6.1.2.3 (media), §4.6.1.2.4 (path).
#include <algorithm>
#include <array>
#include <utility>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::wire {
namespace {

struct StatusName {
  uint16_t value;
  std::string_view name;
};

// Sorted by value (checked below) for a binary search.
constexpr StatusName kNames[] = {
    // Generic command status (SCT 0)
    {0x000, "success"},
    {0x001, "invalid command opcode"},
    {0x002, "invalid field in command"},
    {0x003, "command ID conflict"},
    {0x004, "data transfer error"},
    {0x005, "commands aborted due to power loss notification"},
    {0x006, "internal error"},
    {0x007, "command abort requested"},
    {0x008, "command aborted due to SQ deletion"},
    {0x009, "command aborted due to failed fused command"},
    {0x00A, "command aborted due to missing fused command"},
    {0x00B, "invalid namespace or format"},
    {0x00C, "command sequence error"},
    {0x00D, "invalid SGL segment descriptor"},
    {0x00E, "invalid number of SGL descriptors"},
    {0x00F, "data SGL length invalid"},
    {0x010, "metadata SGL length invalid"},
    {0x011, "SGL descriptor type invalid"},
    {0x012, "invalid use of controller memory buffer"},
    {0x013, "PRP offset invalid"},
    {0x014, "atomic write unit exceeded"},
    {0x015, "operation denied"},
    {0x016, "SGL offset invalid"},
    {0x018, "host identifier inconsistent format"},
    {0x019, "keep alive timer expired"},
    {0x01A, "keep alive timeout invalid"},
    {0x01B, "command aborted due to preempt and abort"},
    {0x01C, "sanitize failed"},
    {0x01D, "sanitize in progress"},
    {0x01E, "SGL data block granularity invalid"},
    {0x01F, "command not supported for queue in CMB"},
    {0x020, "namespace is write protected"},
    {0x021, "command interrupted"},
    {0x022, "transient transport error"},
    {0x023, "command prohibited by command and feature lockdown"},
    {0x024, "admin command media not ready"},
    {0x080, "LBA out of range"},
    {0x081, "capacity exceeded"},
    {0x082, "namespace not ready"},
    {0x083, "reservation conflict"},
    {0x084, "format in progress"},
    // Command specific status (SCT 1)
    {0x100, "completion queue invalid"},
    {0x101, "invalid queue identifier"},
    {0x102, "invalid queue size"},
    {0x103, "abort command limit exceeded"},
    {0x105, "asynchronous event request limit exceeded"},
    {0x106, "invalid firmware slot"},
    {0x107, "invalid firmware image"},
    {0x108, "invalid interrupt vector"},
    {0x109, "invalid log page"},
    {0x10A, "invalid format"},
    {0x10B, "firmware activation requires conventional reset"},
    {0x10C, "invalid queue deletion"},
    {0x10D, "feature identifier not saveable"},
    {0x10E, "feature not changeable"},
    {0x10F, "feature not namespace specific"},
    {0x110, "firmware activation requires NVM subsystem reset"},
    {0x111, "firmware activation requires controller level reset"},
    {0x112, "firmware activation requires maximum time violation"},
    {0x113, "firmware activation prohibited"},
    {0x114, "overlapping range"},
    {0x115, "namespace insufficient capacity"},
    {0x116, "namespace identifier unavailable"},
    {0x118, "namespace already attached"},
    {0x119, "namespace is private"},
    {0x11A, "namespace not attached"},
    {0x11B, "thin provisioning not supported"},
    {0x11C, "controller list invalid"},
    {0x11D, "device self-test in progress"},
    {0x11E, "boot partition write prohibited"},
    {0x11F, "invalid controller identifier"},
    {0x120, "invalid secondary controller state"},
    {0x121, "invalid number of controller resources"},
    {0x122, "invalid resource identifier"},
    {0x123, "sanitize prohibited while persistent memory region is enabled"},
    {0x124, "ANA group identifier invalid"},
    {0x125, "ANA attach failed"},
    {0x180, "connect: incompatible format"},   // also: conflicting attributes (I/O)
    {0x181, "connect: controller busy"},       // also: invalid protection information (I/O)
    {0x182, "connect: invalid parameters"},    // also: attempted write to read only range (I/O)
    {0x183, "connect: restart discovery"},
    {0x184, "connect: invalid host"},
    {0x190, "discover restart"},
    {0x191, "authentication required"},
    // Media and data integrity errors (SCT 2)
    {0x280, "write fault"},
    {0x281, "unrecovered read error"},
    {0x282, "end-to-end guard check error"},
    {0x283, "end-to-end application tag check error"},
    {0x284, "end-to-end reference tag check error"},
    {0x285, "compare failure"},
    {0x286, "access denied"},
    {0x287, "deallocated or unwritten logical block"},
    {0x288, "end-to-end storage tag check error"},
    // Path related status (SCT 3)
    {0x300, "internal path error"},
    {0x301, "asymmetric access persistent loss"},
    {0x302, "asymmetric access inaccessible"},
    {0x303, "asymmetric access transition"},
    {0x360, "controller pathing error"},
    {0x370, "host pathing error"},
    {0x371, "command aborted by host"},
};

constexpr bool sorted() {
  for (size_t i = 1; i < std::size(kNames); ++i)
    if (kNames[i - 1].value >= kNames[i].value) return false;
  return true;
}
static_assert(sorted(), "kNames must be sorted by value");

}  // namespace

std::string_view status_name(uint16_t status) {
  uint16_t key = status & 0x7FF;  // SCT (bits 10:8) and SC; CRD, MORE, DNR ignored
  auto it = std::lower_bound(std::begin(kNames), std::end(kNames), key,
                             [](const StatusName& n, uint16_t v) { return n.value < v; });
  if (it != std::end(kNames) && it->value == key) return it->name;
  switch (key >> 8) {
    case 0: return "unknown generic status";
    case 1: return "unknown command specific status";
    case 2: return "unknown media error";
    case 3: return "unknown path error";
    case 7: return "vendor specific status";
    default: return "unknown status";
  }
}

}  // namespace nvmefs::wire
