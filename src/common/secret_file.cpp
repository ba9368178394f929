#include "nvmefs/common/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs {

std::string read_secret_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw Error(fmt::format("{}: {}", path, std::strerror(errno)), errno);
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) != 0) why = std::strerror(errno);
  else if (!S_ISREG(st.st_mode)) why = "not a regular file";
  else if (st.st_mode & 077) why = fmt::format("readable by group or others (mode {:04o}); chmod 600 it", st.st_mode & 07777);
  else if (st.st_size > 4096) why = "too large for a key file";
  std::string text;
  if (why.empty()) {
    text.resize(size_t(st.st_size));
    const ssize_t n = ::read(fd, text.data(), text.size());
    if (n < 0) why = std::strerror(errno);
    else text.resize(size_t(n));
  }
  ::close(fd);
  if (why.empty()) {
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    if (first == std::string::npos) text.clear();
    else text.erase(last + 1).erase(0, first);  // in place: no stray copy of the secret
    if (text.empty()) why = "empty";
  }
  if (!why.empty()) throw Error(fmt::format("{}: {}", path, why), EACCES);
  return text;
}

}  // namespace nvmefs
