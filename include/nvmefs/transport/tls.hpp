// TLS 1.3 with external pre-shared keys over an NVMe/TCP connection (NVMe/TCP
// Transport Specification 1.0 rev. 2021+, TP 8011, "TCP §3.6.1.x"): the TLS
// handshake runs on the fresh TCP connection before ICReq; cipher suites
// TLS_AES_128_GCM_SHA256 / TLS_AES_256_GCM_SHA384 (the PSK's hash picks
// one), no certificates, no session tickets. OpenSSL 3 does all the crypto.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nvmefs/transport/byte_stream.hpp"
#include "nvmefs/transport/tls_psk.hpp"

namespace nvmefs::transport {

// Host side: the TLS handshake on a connected socket, offering `psk`, within
// timeout_ms. Throws nvmefs::Error with one line: "<peer>: TLS handshake
// failed: <reason> (wrong PSK?)", "<peer>: peer is not speaking TLS (...)",
// "<peer>: TLS handshake timed out after N ms". `peer` names the other end.
std::unique_ptr<ByteStream> tls_client_stream(int fd, const TlsPsk& psk, const std::string& peer,
                                              uint32_t timeout_ms);

// Controller side: accepts the handshake of a host that offers an identity
// `key` produces (controller_tls_psk). Throws nvmefs::Error with one line
// ("<peer>: not a TLS ClientHello (first byte 0x00: a plain NVMe/TCP ICReq?)").
std::unique_ptr<ByteStream> tls_server_stream(int fd, const ConfiguredPsk& key, const std::string& peer,
                                              uint32_t timeout_ms);

}  // namespace nvmefs::transport
