#include "nvmefs/cache/block_cache.hpp"

namespace nvmefs::cache {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::None: return "none";
    case Mode::WriteThrough: return "writethrough";
    case Mode::WriteBack: return "writeback";
  }
  return "?";
}

bool parse_mode(const std::string& s, Mode& out) {
  for (Mode m : {Mode::None, Mode::WriteThrough, Mode::WriteBack}) {
    if (s == mode_name(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

}  // namespace nvmefs::cache
