// Keyed SGL data block descriptor (NVMe Base 2.0 §4.3.2 Figure 121): address
// bytes 0-7, length bytes 8-10 (24 bits), key bytes 11-14, type byte 15.
#include <doctest/doctest.h>

#include "nvmefs/wire/nvme_cmd.hpp"

using nvmefs::wire::Sqe;

TEST_CASE("keyed SGL lands in DPTR bytes 24..39, little-endian") {
  Sqe s;
  s.set_keyed_sgl(0x1122334455667788ull, 0xABCDEF, 0xCAFEBABE, nvmefs::wire::kSglKeyedDataBlock);
  const uint8_t want[16] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                            0xEF, 0xCD, 0xAB, 0xBE, 0xBA, 0xFE, 0xCA, 0x40};
  for (int i = 0; i < 16; ++i) CHECK(s.b[24 + i] == want[i]);
  for (int i = 0; i < 24; ++i) CHECK(s.b[i] == 0);
  for (int i = 40; i < 64; ++i) CHECK(s.b[i] == 0);
}

TEST_CASE("keyed SGL with invalidate, and the null descriptor of a command without data") {
  Sqe s;
  s.set_keyed_sgl(0x1000, 4096, 0x1234, nvmefs::wire::kSglKeyedDataBlockInvalidate);
  CHECK(s.sgl_type() == 0x4F);
  CHECK(s.sgl_addr() == 0x1000);
  CHECK((s.b[32] | s.b[33] << 8 | s.b[34] << 16) == 4096);
  s.set_keyed_sgl(0, 0, 0, nvmefs::wire::kSglKeyedDataBlock);
  for (int i = 24; i < 39; ++i) CHECK(s.b[i] == 0);
  CHECK(s.sgl_type() == 0x40);
}
