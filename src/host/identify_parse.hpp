// Pure parsers of Identify data (NVMe Base 2.0 §5.17.2), which comes from
// the controller and is untrusted: every field is range-checked here, in one
// place the fuzzer (tests/fuzz/fuzz_identify.cpp) can reach.
#pragma once

#include <cstdint>

extern "C" {
#include <nvme/types.h>
}

namespace nvmefs::host {

// MDTS in bytes (0 = no limit): 2^MDTS units of the minimum memory page size
// CAP.MPSMIN (CAP bits 51:48), NVMe Base 2.0 §5.17.2.1; capped at 2 GiB.
uint32_t mdts_bytes(uint8_t mdts, uint64_t cap);

// In-capsule data the controller accepts on I/O queues: IOCCSZ is the command
// capsule size in 16-byte units, the 64-byte SQE included (NVMe-oF 1.1 §4.1).
uint32_t in_capsule_data_bytes(uint32_t ioccsz);

// What the host uses of Identify Namespace (NVM Command Set 1.0 §4.1.5.1).
struct NamespaceGeometry {
  unsigned lba_shift = 9;   // log2 of the LBA data size
  uint64_t size_bytes = 0;  // NSZE in bytes
};

// Throws nvmefs::Error (one line naming the namespace) for a format this host
// cannot use: FLBAS index beyond NLBAF, LBA data size outside 512 B..64 KiB,
// metadata, or an NSZE whose byte size does not fit in 64 bits.
NamespaceGeometry namespace_geometry(uint32_t nsid, const nvme_id_ns& id);

}  // namespace nvmefs::host
