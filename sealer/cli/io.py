"""File and stream I/O for the CLI: reading inputs, fetching certificates, atomic writes.

The only place the CLI touches the disk or the network for offline commands. Plaintext is never
written to disk: :func:`write_atomic` is used for SealedSecrets and public keys, and private keys
from ``seal keygen`` (mode 0600) only.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from sealer.errors import InputError

__all__ = ["fetch_url", "read_input", "read_path", "write_atomic"]

_URL_TIMEOUT = 15.0


def read_path(path: str, *, what: str = "file") -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", where=path) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", where=path) from None


def read_input(path: str | None, *, what: str) -> tuple[bytes, str]:
    """Bytes of ``path``, or of stdin for ``-``/None. Refuses a terminal and an empty stream."""
    if path not in (None, "-"):
        assert path is not None
        data = read_path(path, what=what)
        if not data.strip():
            raise InputError(f"is empty: no {what}", where=path)
        return data, path
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError(f"no input: give a FILE or pipe the {what} on stdin")
    data = sys.stdin.buffer.read()
    if not data.strip():
        raise InputError(f"stdin is empty: no {what}")
    return data, "<stdin>"


def fetch_url(url: str, *, what: str = "certificate") -> bytes:
    """GET ``url`` (http or https) with a timeout; errors name the URL, never the body."""
    if not url.startswith(("http://", "https://")):
        raise InputError("only http:// and https:// URLs are supported", where=url)
    import urllib.error  # deferred: most runs read a local file, and urllib costs start-up time
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=_URL_TIMEOUT) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise InputError(f"cannot fetch {what}: HTTP {exc.code} {exc.reason}", where=url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InputError(f"cannot fetch {what}: {reason}", where=url) from None


def write_atomic(path: str, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the new one, never a partial one; on failure the temporary file
    is removed and the old file is untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", where=path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise InputError(f"cannot write: {exc.strerror or exc}", where=path) from None
