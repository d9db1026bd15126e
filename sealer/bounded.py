"""Bounded reads: at most ``bound + 1`` bytes of any stream, and one error line if it is longer.

The one reader every ``seal`` input goes through (files, pipes, stdin, HTTP answers from a URL,
the controller or the API server's service proxy), so no input can exhaust memory; and
:func:`read_regular_file`, the one reader of files found in a tree (``seal render``'s app
directories, ``seal check``'s paths), which refuses anything but a regular file. Pure standard
library, so every layer may use it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final, Protocol

from sealer.errors import InputError

__all__ = [
    "InputTooLarge",
    "Limit",
    "human_size",
    "read_bounded",
    "read_regular_file",
    "special_kind",
]

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
    if size and size % _MIB == 0:
        return f"{size // _MIB} MiB"
    if size and size % _KIB == 0:
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


class InputTooLarge(InputError):
    """A file over its size bound (callers that report it rather than fail catch this one)."""


def special_kind(mode: int) -> str:
    """What a file that is not a regular file or a directory is, for an error line."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_regular_file(path: Path, limit: int, *, where: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit``; anything else is refused.

    Opened without blocking and checked on the open descriptor, so a FIFO or a device put in
    the file's place after a directory walk is refused, not waited on or read for ever.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=where) from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"is {special_kind(mode)}, not a regular file: refused", where=where)
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", where=where) from None
    if data is None or len(data) > limit:
        raise InputTooLarge(f"is larger than {human_size(limit)}: refused", where=where)
    return data
