// Error type for setup paths (connect, parse, open). The I/O hot path never
// throws: it reports negative errno values through IoRequest::result.
#pragma once

#include <stdexcept>
#include <string>

namespace nvmefs {

// A failure with one line of text meant for the user ("connect to
// 127.0.0.1:4420: connection refused"), plus an errno-style code.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int err = 5 /*EIO*/) : std::runtime_error(what), err_(err) {}
  int err() const { return err_; }

 private:
  int err_;
};

}  // namespace nvmefs
