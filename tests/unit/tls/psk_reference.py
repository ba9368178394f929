#!/usr/bin/env python3
# Independent reference for the NVMe/TCP PSK derivation (hashlib/hmac only),
# used by test_tls.cpp to cross-check the OpenSSL-based C++ code:
#   psk_reference.py KEYHEX HH HOSTNQN SUBNQN
# prints: <retained PSK hex> <PSK digest base64> <TLS PSK hex>
# Derivation: NVMe/TCP TP 8011/8018 as implemented by libnvme
# (src/nvme/linux.c derive_retained_key / derive_psk_digest / derive_tls_key)
# with the TLS 1.3 HkdfLabel of RFC 8446 §7.1 and HKDF of RFC 5869.
import base64
import hashlib
import hmac
import sys


def hkdf_expand_label(h, key, label, context, length):
    prk = hmac.new(b"\0" * h().digest_size, key, h).digest()  # HKDF-Extract(salt = 0, key)
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    out, block, i = b"", b"", 1
    while len(out) < length:  # HKDF-Expand
        block = hmac.new(prk, block + info + bytes([i]), h).digest()
        out += block
        i += 1
    return out[:length]


key = bytes.fromhex(sys.argv[1])
hh = int(sys.argv[2])
host, sub = sys.argv[3].encode(), sys.argv[4].encode()
h = hashlib.sha384 if len(key) == 48 else hashlib.sha256
cipher = 2 if len(key) == 48 else 1
retained = key if hh == 0 else hkdf_expand_label(h, key, b"HostNQN", host, len(key))
digest = base64.b64encode(hmac.new(retained, host + b" " + sub + b" NVMe-over-Fabrics", h).digest())
psk = hkdf_expand_label(h, retained, b"nvme-tls-psk", b"%02d " % cipher + digest, len(key))
print(retained.hex(), digest.decode(), psk.hex())
