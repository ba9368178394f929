// TLS 1.3 with external PSKs over a TCP socket (tls.hpp), on OpenSSL 3.
//
// The socket is non-blocking under TLS: every SSL call runs under one mutex
// and never waits inside OpenSSL; waiting happens in poll() with the mutex
// released. So the receive thread blocked for input never stalls a sender
// (an SSL object must not be entered by two threads at once), and a sender
// blocked on a full socket never stalls the reader (no deadlock when both
// peers write at the same time).
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/transport/tls.hpp"

namespace nvmefs::transport {
namespace {

using Clock = std::chrono::steady_clock;

// RFC 8446 §5.1: record content types and the plaintext record limit.
constexpr int kRecordHandshake = 0x16;
constexpr int kRecordAlert = 0x15;
constexpr size_t kMaxRecord = 16384;
constexpr const char* kCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

// ---------- a socket BIO that never raises SIGPIPE and remembers what it saw ----------

struct SocketState {
  int fd = -1;
  int first_byte = -1;  // first byte the peer sent (-1: nothing yet)
  bool eof = false;     // the peer closed (or we shut the socket down)
};

int bio_write(BIO* b, const char* data, int len) {
  auto* s = static_cast<SocketState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  const ssize_t r = ::send(s->fd, data, size_t(len), MSG_NOSIGNAL);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) BIO_set_retry_write(b);
  return int(r);
}

int bio_read(BIO* b, char* data, int len) {
  auto* s = static_cast<SocketState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  const ssize_t r = ::recv(s->fd, data, size_t(len), 0);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) BIO_set_retry_read(b);
  if (r == 0) s->eof = true;
  if (r > 0 && s->first_byte < 0) s->first_byte = static_cast<unsigned char>(data[0]);
  return int(r);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nvmefs socket");
    if (m) {
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
    }
    return m;
  }();
  return method;
}

// ---------- PSK callbacks ----------

// TLS 1.3 external PSK as an SSL_SESSION: the key, and the cipher suite its hash selects.
SSL_SESSION* psk_session(SSL* ssl, const TlsPsk& psk) {
  const unsigned char suite[2] = {0x13, psk.hash == TlsHash::Sha256 ? uint8_t(0x01) : uint8_t(0x02)};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, suite);
  SSL_SESSION* s = SSL_SESSION_new();
  if (!cipher || !s || !SSL_SESSION_set1_master_key(s, psk.key.data(), psk.key.size()) ||
      !SSL_SESSION_set_cipher(s, cipher) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

int use_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen, SSL_SESSION** sess) {
  const auto* psk = static_cast<const TlsPsk*>(SSL_get_app_data(ssl));
  SSL_SESSION* s = psk_session(ssl, *psk);
  if (!s) return 0;
  // After a HelloRetryRequest OpenSSL asks again with the negotiated hash: offer nothing that does not fit.
  if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
    SSL_SESSION_free(s);
    *sess = nullptr;
    *id = nullptr;
    *idlen = 0;
    return 1;
  }
  *sess = s;
  *id = reinterpret_cast<const unsigned char*>(psk->identity.data());
  *idlen = psk->identity.size();
  return 1;
}

struct ServerLookup {
  const ConfiguredPsk* key = nullptr;
  std::string offered;  // the identity the host offered (printable part, for messages)
  std::optional<TlsPsk> psk;
};

// The identity without its digest (which is derived from the key): safe to log.
std::string loggable_identity(std::string_view id) {
  std::string out;
  int spaces = 0;
  for (char c : id.substr(0, 512)) {
    if (c == ' ' && ++spaces == 3) break;
    out += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  return out;
}

int find_session(SSL* ssl, const unsigned char* identity, size_t len, SSL_SESSION** sess) {
  auto* lookup = static_cast<ServerLookup*>(SSL_get_app_data(ssl));
  const std::string_view id(reinterpret_cast<const char*>(identity), len);
  lookup->offered = loggable_identity(id);
  try {
    lookup->psk = controller_tls_psk(*lookup->key, id);
  } catch (const std::exception&) {
    return 0;
  }
  *sess = lookup->psk ? psk_session(ssl, *lookup->psk) : nullptr;  // none: the handshake fails
  return 1;
}

SSL_CTX* make_context(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_set_ciphersuites(ctx, kCipherSuites))
    throw Error("TLS: cannot set up an OpenSSL context for TLS 1.3", EIO);
  // PSK only: no session tickets, no resumption cache.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (server) SSL_CTX_set_psk_find_session_callback(ctx, find_session);
  else SSL_CTX_set_psk_use_session_callback(ctx, use_session);
  return ctx;
}

SSL_CTX* context(bool server) {
  static SSL_CTX* client_ctx = make_context(false);
  static SSL_CTX* server_ctx = make_context(true);
  return server ? server_ctx : client_ctx;
}

// Waits for `events` on fd until `timeout_ms` (-1 = forever). 0, -ETIMEDOUT or -errno.
int wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return 0;  // ready, or HUP/ERR: the next SSL call reports it
    if (r == 0) return -ETIMEDOUT;
    if (errno != EINTR) return -errno;
  }
}

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return int(std::max<int64_t>(left, 0));
}

std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  const char* reason = e ? ERR_reason_error_string(e) : nullptr;
  return reason ? reason : "unknown error";
}

// ---------- the stream ----------

class TlsStream final : public ByteStream {
 public:
  TlsStream(int fd, std::unique_ptr<SocketState> state, SSL* ssl)
      : fd_(fd), state_(std::move(state)), ssl_(ssl), stage_(new uint8_t[kMaxRecord]) {}

  ~TlsStream() override {
    SSL_shutdown(ssl_);  // best effort close_notify; the socket is non-blocking
    SSL_free(ssl_);
  }

  int read_all(iovec* iov, int n) override {
    for (int i = 0; i < n; ++i) {
      auto* p = static_cast<uint8_t*>(iov[i].iov_base);
      size_t len = iov[i].iov_len;
      while (len > 0) {
        size_t got = 0;
        const int err = call([&] { return SSL_read_ex(ssl_, p, len, &got); });
        if (err == SSL_ERROR_NONE) {
          p += got;
          len -= got;
        } else if (int r = wait_or_fail(err); r < 0) {
          return r;
        }
      }
      iov[i].iov_len = 0;
    }
    return 0;
  }

  // Small pieces (PDU headers, digests) are gathered with the start of the
  // data into one record-sized staging buffer; the bulk of a large buffer goes
  // to SSL_write as it is. So a PDU costs one record more at most, and at most
  // one record of its data is copied.
  int write_all(iovec* iov, int n, bool) override {
    size_t staged = 0;
    for (int i = 0; i < n; ++i) {
      auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
      size_t len = iov[i].iov_len;
      while (len > 0) {
        if (staged == 0 && len >= kMaxRecord) {
          if (int r = write_bytes(p, len); r < 0) return r;
          break;
        }
        const size_t k = std::min(len, kMaxRecord - staged);
        std::memcpy(stage_.get() + staged, p, k);
        staged += k;
        p += k;
        len -= k;
        if (staged == kMaxRecord) {
          if (int r = write_bytes(stage_.get(), staged); r < 0) return r;
          staged = 0;
        }
      }
      iov[i].iov_len = 0;
    }
    return staged ? write_bytes(stage_.get(), staged) : 0;
  }

  void set_timeout(uint32_t timeout_ms) override { timeout_ms_ = timeout_ms ? int(timeout_ms) : -1; }

 private:
  // One SSL call under the lock; its SSL_get_error code (SSL_ERROR_NONE on success).
  template <typename F>
  int call(F f) {
    std::lock_guard lk(mu_);
    ERR_clear_error();
    const int r = f();
    return r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
  }

  int write_bytes(const uint8_t* p, size_t len) {
    while (len > 0) {
      size_t done = 0;
      const int err = call([&] { return SSL_write_ex(ssl_, p, len, &done); });
      if (err == SSL_ERROR_NONE) {
        p += done;
        len -= done;
      } else if (int r = wait_or_fail(err); r < 0) {
        return r;
      }
    }
    return 0;
  }

  int wait_or_fail(int ssl_error) {
    switch (ssl_error) {
      case SSL_ERROR_WANT_READ: return wait_for(fd_, POLLIN, timeout_ms_);
      case SSL_ERROR_WANT_WRITE: return wait_for(fd_, POLLOUT, timeout_ms_);
      case SSL_ERROR_ZERO_RETURN: return -ECONNRESET;  // close_notify
      case SSL_ERROR_SYSCALL: return state_->eof || errno == 0 ? -ECONNRESET : -errno;
      default: return state_->eof ? -ECONNRESET : -EPROTO;  // a bad record (authentication failed, ...)
    }
  }

  const int fd_;
  std::unique_ptr<SocketState> state_;
  SSL* ssl_;
  std::unique_ptr<uint8_t[]> stage_;  // used by the one writer
  std::mutex mu_;
  std::atomic<int> timeout_ms_{-1};
};

// A fresh SSL on fd (made non-blocking) with our BIO; its state holds what the BIO saw.
// Only the cipher suite of the PSK's hash is enabled: OpenSSL picks the suite
// before it looks at PSKs, and a SHA-384 PSK cannot be used under a SHA-256 suite.
SSL* new_ssl(int fd, bool server, TlsHash hash, SocketState& state) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  state.fd = fd;
  SSL* ssl = SSL_new(context(server));
  if (ssl && !SSL_set_ciphersuites(ssl, hash == TlsHash::Sha256 ? "TLS_AES_128_GCM_SHA256" : "TLS_AES_256_GCM_SHA384")) {
    SSL_free(ssl);
    ssl = nullptr;
  }
  BIO* bio = ssl ? BIO_new(socket_bio_method()) : nullptr;
  if (!bio) {
    SSL_free(ssl);
    throw Error("TLS: cannot create an OpenSSL connection object", ENOMEM);
  }
  BIO_set_data(bio, &state);
  SSL_set_bio(ssl, bio, bio);
  return ssl;
}

struct HandshakeFailure {
  std::string why;  // empty: no failure
  int err = 0;
};

// Runs SSL_connect / SSL_accept to the end.
HandshakeFailure handshake(SSL* ssl, bool server, int fd, const SocketState& state, uint32_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ERR_clear_error();
    const int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
    if (r == 1) return {};
    const int err = SSL_get_error(ssl, r);
    int w = -EPROTO;
    if (err == SSL_ERROR_WANT_READ) w = wait_for(fd, POLLIN, ms_left(deadline));
    else if (err == SSL_ERROR_WANT_WRITE) w = wait_for(fd, POLLOUT, ms_left(deadline));
    if (w == 0) continue;
    if (w == -ETIMEDOUT) return {fmt::format("TLS handshake timed out after {} ms", timeout_ms), ETIMEDOUT};
    if (state.first_byte >= 0 && state.first_byte != kRecordHandshake && state.first_byte != kRecordAlert)
      return {fmt::format("peer is not speaking TLS (first byte {:#04x}, not a TLS record; a plain NVMe/TCP port?)",
                          state.first_byte),
              EPROTO};
    if (state.eof)
      return {"TLS handshake failed: the peer closed the connection (wrong PSK, or TLS not enabled there?)",
              ECONNRESET};
    if (err == SSL_ERROR_SYSCALL)
      return {fmt::format("TLS handshake failed: {}", std::strerror(errno ? errno : EIO)), errno ? errno : EIO};
    return {fmt::format("TLS handshake failed: {} (wrong PSK?)", openssl_reason()), EACCES};
  }
}

void describe_session(SSL* ssl, const std::string& peer, std::string_view identity) {
  log::debug("{}: TLS 1.3 with {} as PSK identity {}", peer, SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)),
             loggable_identity(identity));
}

}  // namespace

std::unique_ptr<ByteStream> tls_client_stream(int fd, const TlsPsk& psk, const std::string& peer,
                                              uint32_t timeout_ms) {
  auto state = std::make_unique<SocketState>();
  SSL* ssl = new_ssl(fd, false, psk.hash, *state);
  SSL_set_app_data(ssl, const_cast<TlsPsk*>(&psk));
  const HandshakeFailure failure = handshake(ssl, false, fd, *state, timeout_ms);
  SSL_set_app_data(ssl, nullptr);  // the callback runs during the handshake only
  if (!failure.why.empty()) {
    SSL_free(ssl);
    throw Error(fmt::format("{}: {}", peer, failure.why), failure.err);
  }
  describe_session(ssl, peer, psk.identity);
  return std::make_unique<TlsStream>(fd, std::move(state), ssl);
}

std::unique_ptr<ByteStream> tls_server_stream(int fd, const ConfiguredPsk& key, const std::string& peer,
                                              uint32_t timeout_ms) {
  // A plain NVMe/TCP host opens with an ICReq (PDU type 0x00), never 0x16: say so and stop
  // before OpenSSL answers it with a TLS alert the host cannot read.
  pollfd p{fd, POLLIN, 0};
  uint8_t first = 0;
  if (::poll(&p, 1, int(timeout_ms)) <= 0)
    throw Error(fmt::format("{}: nothing received within {} ms (expected a TLS ClientHello)", peer, timeout_ms), ETIMEDOUT);
  const ssize_t got = ::recv(fd, &first, 1, MSG_PEEK);
  if (got <= 0) throw Error(fmt::format("{}: closed before sending a TLS ClientHello", peer), ECONNRESET);
  if (first != kRecordHandshake)
    throw Error(fmt::format("{}: not a TLS ClientHello (first byte {:#04x}{}) on a TLS-only port; closing", peer, first,
                            first == 0x00 ? ": a plain NVMe/TCP ICReq" : ""),
                EPROTO);

  auto state = std::make_unique<SocketState>();
  SSL* ssl = new_ssl(fd, true, key.hash(), *state);
  ServerLookup lookup{&key, {}, {}};
  SSL_set_app_data(ssl, &lookup);
  HandshakeFailure failure = handshake(ssl, true, fd, *state, timeout_ms);
  SSL_set_app_data(ssl, nullptr);
  if (failure.why.empty() && !lookup.psk) failure = {"TLS handshake without a PSK", EACCES};  // no certificates: cannot happen
  if (!failure.why.empty()) {
    SSL_free(ssl);
    if (!lookup.offered.empty() && !lookup.psk)
      failure = {fmt::format("TLS handshake failed: no PSK for identity '{}' (a different key, or NQNs?)",
                             lookup.offered),
                 EACCES};
    throw Error(fmt::format("{}: {}", peer, failure.why), failure.err);
  }
  describe_session(ssl, peer, lookup.psk->identity);
  return std::make_unique<TlsStream>(fd, std::move(state), ssl);
}

}  // namespace nvmefs::transport
