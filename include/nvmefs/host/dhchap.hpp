// DH-HMAC-CHAP secrets for ConnectOptions::dhchap_secret / dhchap_ctrl_secret:
// making one (as `nvme gen-dhchap-key` does), reading one from a file, and
// checking one. Format: "DHHC-1:XX:<base64 of key || CRC-32(key) LE>:" with
// XX = 00 (key used as is) or 01/02/03 (transformed with SHA-256/384/512 and
// the NQN before use), key 32, 48 or 64 bytes (NVMe Base 2.0 §8.13.5.8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nvmefs::host {

// A new random secret. transform: 0 none, 1 SHA-256, 2 SHA-384, 3 SHA-512.
// key_len: 32, 48 or 64; 0 picks the transform's hash length (32 for none).
// With a transform, the random key is first transformed with `hostnqn`
// (HMAC(key, hostnqn || "NVMe-over-Fabrics"), libnvme's nvme_gen_dhchap_key),
// exactly like nvme-cli. Throws nvmefs::Error on bad arguments.
std::string generate_dhchap_secret(uint8_t transform, size_t key_len, const std::string& hostnqn);

// Reads a secret from a file (for the *_file= mount options): the first line,
// white space trimmed, checked like check_dhchap_secret. Warns (log) when the
// file is readable by group or others. Throws nvmefs::Error with one line.
std::string read_dhchap_secret_file(const std::string& path);

// Throws nvmefs::Error ("invalid DH-HMAC-CHAP secret: CRC-32 mismatch ...")
// unless `secret` is well formed. The message never contains the secret.
void check_dhchap_secret(const std::string& secret);

}  // namespace nvmefs::host
