"""Sealing and unsealing cost per value against the raw primitives, RSA-4096, measured in one run.

Sealing (``hybrid_encrypt`` + ``encode_blob``) is compared with one RSA-4096 OAEP-SHA256
encryption of a 32-byte key plus AES-256-GCM of the value, done directly with ``cryptography``;
unsealing (``decode_blob`` + ``hybrid_decrypt``) with one RSA-4096 OAEP decryption. The envelope's
own work (header, base64, padding objects) should be small next to RSA: targets 1.3 and 1.1.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealer.envelope import (
    Scope,
    decode_blob,
    encode_blob,
    hybrid_decrypt,
    hybrid_encrypt,
    label_for,
)
from sealer.keys import load_private_keys
from tests.bench.report import Row, interleaved, ratio_row

KEY_FILE = Path(__file__).parents[1] / "data" / "key-4096.pem"
VALUE = bytes(range(64))  # a 64-byte value: a typical password or token
ZERO_NONCE = bytes(12)


def run() -> list[Row]:
    private_key = load_private_keys(KEY_FILE.read_bytes())[0].private_key
    public_key = private_key.public_key()
    label = label_for(Scope.STRICT, "default", "my-secret")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)

    def seal() -> str:
        return encode_blob(hybrid_encrypt(public_key, VALUE, label))

    def raw_seal() -> bytes:
        session_key = os.urandom(32)
        wrapped = public_key.encrypt(session_key, oaep)
        return wrapped + AESGCM(session_key).encrypt(ZERO_NONCE, VALUE, None)

    blob = seal()
    wrapped = decode_blob(blob)[2:514]
    assert hybrid_decrypt(private_key, decode_blob(blob), label) == VALUE

    def unseal() -> bytes:
        return hybrid_decrypt(private_key, decode_blob(blob), label)

    def raw_unseal() -> bytes:
        return private_key.decrypt(wrapped, oaep)

    seal_s, raw_seal_s = interleaved(seal, raw_seal, calls=400, rounds=9)
    unseal_s, raw_unseal_s = interleaved(unseal, raw_unseal, calls=30, rounds=9)
    # The baseline against itself: how far apart two identical loops land on this machine now.
    noise_a, noise_b = interleaved(raw_unseal, raw_unseal, calls=30, rounds=9)
    return [
        ratio_row(
            "sealing",
            "seal / raw RSA-OAEP+AES-GCM",
            seal_s / raw_seal_s,
            limit=1.3,
            detail=f"seal {seal_s * 1e6:.0f} µs/value, raw {raw_seal_s * 1e6:.0f} µs (RSA-4096)",
        ),
        ratio_row(
            "sealing",
            "unseal / raw RSA-OAEP decrypt",
            unseal_s / raw_unseal_s,
            limit=1.1,
            detail=f"unseal {unseal_s * 1e6:.0f} µs/value, "
            f"raw {raw_unseal_s * 1e6:.0f} µs (RSA-4096)",
        ),
        Row(
            "sealing",
            "noise: raw decrypt / itself",
            noise_a / noise_b,
            "x",
            detail="same loop twice; how far from 1.0 the ratios above can drift by noise alone",
        ),
    ]
