"""Bounded reads: at most ``bound + 1`` bytes of any stream, and one error line if it is longer.

The one reader every ``seal`` input goes through (files, pipes, stdin, HTTP answers from a URL,
the controller or the API server's service proxy), so no input can exhaust memory. Pure standard
library, so every layer may use it.
"""

from __future__ import annotations

from typing import Final, Protocol

from sealer.errors import InputError

__all__ = ["Limit", "human_size", "read_bounded"]

_KIB = 1024
_MIB = 1024 * _KIB


class Limit:
    """The most bytes ``seal`` reads for each kind of input."""

    #: A PEM or DER certificate or public key is a few KiB; 256 KiB allows a long chain.
    CERTIFICATE: Final = 256 * _KIB
    #: A key backup (a List of tls Secrets) holds one PEM of ~3 KiB per key.
    PRIVATE_KEY: Final = 4 * _MIB
    #: A value: Kubernetes refuses Secrets over 1 MiB, so a bigger value cannot be applied.
    VALUE: Final = 1 * _MIB
    #: A ``--from-env-file``: KEY=VALUE lines for one Secret.
    ENV_FILE: Final = 1 * _MIB
    #: A manifest stream (Secrets, SealedSecrets, a controller's /v1/rotate answer).
    MANIFEST: Final = 32 * _MIB
    #: Any other file (the files ``seal check`` scans).
    FILE: Final = 64 * _MIB
    #: A controller's small answers (/v1/cert.pem, /v1/keys, error bodies).
    ANSWER: Final = 1 * _MIB


def human_size(size: int) -> str:
    if size % _MIB == 0:
        return f"{size // _MIB} MiB"
    if size % _KIB == 0:
        return f"{size // _KIB} KiB"
    return f"{size} bytes"


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_bounded(stream: _Readable, bound: int, *, what: str, where: str | None) -> bytes:
    """At most ``bound`` bytes of ``stream``; more is refused after reading ``bound + 1``."""
    chunks: list[bytes] = []
    left = bound + 1
    while left > 0:
        chunk = stream.read(min(left, _MIB))
        if not chunk:
            break
        chunks.append(bytes(chunk))
        left -= len(chunk)
    if left <= 0:  # bound + 1 bytes arrived: refused without joining them into one more copy
        chunks.clear()
        raise InputError(f"{what} is larger than the {human_size(bound)} limit", where=where)
    return b"".join(chunks)
