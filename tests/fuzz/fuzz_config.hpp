// The first input byte of fuzz_tcp_pdu picks the receiver's configuration,
// so one corpus explores both sides, digests on/off and PDA alignment.
#pragma once

#include <cstdint>

#include "nvmefs/wire/tcp_pdu.hpp"

namespace nvmefs::wire::tcp::fuzzing {

struct Config {
  Receiver receiver;
  Digests digests;
  uint8_t pda_field;
};

inline Config decode_config(uint8_t b) {
  return Config{(b & 1) ? Receiver::Controller : Receiver::Host, Digests{bool(b & 2), bool(b & 4)},
                uint8_t((b >> 3) & 3) == 3 ? uint8_t(31) : uint8_t((b >> 3) & 3)};
}

inline uint8_t encode_config(Receiver r, Digests d, uint8_t pda_field_0_to_2) {
  return uint8_t((r == Receiver::Controller ? 1 : 0) | (d.header ? 2 : 0) | (d.data ? 4 : 0) |
                 (pda_field_0_to_2 << 3));
}

}  // namespace nvmefs::wire::tcp::fuzzing
