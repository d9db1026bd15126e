"""The sealed-value envelope: Bitnami Sealed Secrets' hybrid scheme, byte for byte.

Pure code: callers pass keys, labels and (for the session key) a random source. Used by
:mod:`sealer.manifests`, the CLI and the controller. The layout is documented in
``docs/format.md``; this module is the one place that builds or opens it.

Scope rules live here too, since the scope decides the label and the label is part of the
ciphertext (OAEP binds it): a blob sealed for ``prod/db`` does not open as ``dev/db``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealer.errors import DecryptError, EnvelopeError, ScopeError

__all__ = [
    "MAX_RECIPIENTS",
    "RandomSource",
    "Scope",
    "decode_blob",
    "encode_blob",
    "envelope_fits",
    "hybrid_decrypt",
    "hybrid_encrypt",
    "join_recipients",
    "label_for",
    "recipient_count",
    "split_recipients",
    "wrapped_key_length",
]

#: Returns n random bytes. ``os.urandom`` in production; tests may pass a deterministic one.
RandomSource = Callable[[int], bytes]

_SESSION_KEY_LEN = 32
_ZERO_NONCE = bytes(12)  # safe: every session key is fresh and used for exactly one message
_GCM_TAG_LEN = 16
_OAEP_HASH = hashes.SHA256()


class Scope(enum.Enum):
    """Where a sealed value may be unsealed. The value is the annotation spelling."""

    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"

    @classmethod
    def parse(cls, text: str) -> Scope:
        try:
            return cls(text)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ScopeError(f"unknown scope {text!r} (expected one of: {allowed})") from None


def label_for(scope: Scope, namespace: str | None, name: str | None) -> bytes:
    """The OAEP label for a scope: ``ns/name``, ``ns`` or empty (Bitnami's EncryptionLabel)."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if not namespace:
        raise ScopeError(f"a namespace is required for {scope.value} scope")
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    if not name:
        raise ScopeError("a name is required for strict scope")
    return f"{namespace}/{name}".encode()


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(_OAEP_HASH), algorithm=_OAEP_HASH, label=label or None)


# Layout of one sealed value (all integers big-endian):
#
#   +----------------+----------------------------+-----------------------------------+
#   | len(R): uint16 | R: RSA-OAEP(SHA-256, label) | G: AES-256-GCM(plaintext) || tag  |
#   |   2 bytes      |   of the 32-byte session key |   nonce = 12 zero bytes, no AAD  |
#   +----------------+----------------------------+-----------------------------------+
def hybrid_encrypt(
    public_key: rsa.RSAPublicKey,
    plaintext: bytes,
    label: bytes,
    *,
    random: RandomSource = os.urandom,
) -> bytes:
    """Seal ``plaintext`` for ``public_key`` under ``label``; returns the raw envelope bytes."""
    session_key = random(_SESSION_KEY_LEN)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    sealed = AESGCM(session_key).encrypt(_ZERO_NONCE, plaintext, None)
    return len(wrapped).to_bytes(2, "big") + wrapped + sealed


def hybrid_decrypt(private_key: rsa.RSAPrivateKey, envelope: bytes, label: bytes) -> bytes:
    """Open an envelope made by :func:`hybrid_encrypt` (or by Bitnami's ``HybridEncrypt``).

    Raises :class:`EnvelopeError` for a malformed envelope and :class:`DecryptError` when the key or
    the label does not match or the data was altered. Never any other exception.
    """
    if len(envelope) < 2:
        raise EnvelopeError("sealed value is truncated (shorter than its 2-byte header)")
    wrapped_len = int.from_bytes(envelope[:2], "big")
    body = envelope[2:]
    if wrapped_len != wrapped_key_length(private_key):
        raise DecryptError(
            f"sealed value was made for a {wrapped_len * 8}-bit key, "
            f"not this {private_key.key_size}-bit key"
        )
    if len(body) < wrapped_len + _GCM_TAG_LEN:
        raise EnvelopeError("sealed value is truncated")
    try:
        session_key = private_key.decrypt(body[:wrapped_len], _oaep(label))
    except ValueError:
        raise DecryptError(
            "cannot decrypt: wrong key, wrong scope/namespace/name, or altered data"
        ) from None
    if len(session_key) != _SESSION_KEY_LEN:
        raise DecryptError(f"session key has {len(session_key)} bytes, expected 32")
    try:
        return AESGCM(session_key).decrypt(_ZERO_NONCE, body[wrapped_len:], None)
    except InvalidTag:
        raise DecryptError("cannot decrypt: the sealed data was altered or truncated") from None


def wrapped_key_length(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> int:
    """Bytes in R for this key: the modulus length, rounded up to whole bytes."""
    return (key.key_size + 7) // 8


def envelope_fits(envelope: bytes, key: rsa.RSAPrivateKey) -> bool:
    """Whether the header's R length matches ``key``: a free check before any RSA operation."""
    return len(envelope) >= 2 and int.from_bytes(envelope[:2], "big") == wrapped_key_length(key)


def encode_blob(envelope: bytes) -> str:
    """Standard base64 alphabet, padded: what goes into ``spec.encryptedData``."""
    return base64.b64encode(envelope).decode("ascii")


def decode_blob(blob: str) -> bytes:
    """Decode one recipient's base64 blob; strict, so stray characters are an error."""
    # Go's decoder (Bitnami's controller) skips CR and LF anywhere, so a blob wrapped in a YAML
    # block scalar still opens; any other stray character is an error.
    text = blob.replace("\r", "").replace("\n", "").strip()
    if not text:
        raise EnvelopeError("sealed value is empty")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("sealed value is not valid base64") from None
    if len(text) != 4 * ((len(raw) + 2) // 3):  # excess padding, which Go refuses
        raise EnvelopeError("sealed value is not valid base64 (excess padding)")
    return raw


#: Recipients one sealed value may hold (docs/format.md, extension 2). Each recipient may cost a
#: private-key operation per key when the value is opened, so the count is bounded: a value of
#: thousands of comma-joined blobs is refused before any RSA work.
MAX_RECIPIENTS = 16


def join_recipients(blobs: Sequence[str]) -> str:
    """Several recipients' blobs for one value: comma-joined (``,`` is not in base64)."""
    if len(blobs) > MAX_RECIPIENTS:
        raise EnvelopeError(
            f"{len(blobs)} recipients for one value; at most {MAX_RECIPIENTS} are allowed"
        )
    return ",".join(blobs)


def recipient_count(value: str) -> int:
    """How many blobs :func:`split_recipients` would give, without splitting."""
    return value.count(",") + 1


def split_recipients(value: str) -> list[str]:
    """The inverse of :func:`join_recipients`; a single-recipient value gives one blob.

    More than :data:`MAX_RECIPIENTS` blobs is an :class:`EnvelopeError`, found before splitting.
    """
    count = recipient_count(value)
    if count > MAX_RECIPIENTS:
        raise EnvelopeError(
            f"holds {count:,} recipients; at most {MAX_RECIPIENTS} are allowed per value"
        )
    return [part.strip() for part in value.split(",")]
