// Reading a secret (a TLS or DH-HMAC-CHAP key) from a file.
#pragma once

#include <string>

namespace nvmefs {

// The file's contents without surrounding white space. Throws nvmefs::Error
// with one line if the file cannot be read, is not a regular file, is empty,
// or can be read by group or others ("<path>: readable by group or others
// (mode 0644); chmod 600 it"). The contents never appear in a message.
std::string read_secret_file(const std::string& path);

}  // namespace nvmefs
