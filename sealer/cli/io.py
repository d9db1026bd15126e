"""File and stream I/O for the CLI: reading inputs, fetching certificates, atomic writes.

The only place the CLI touches the disk or the network for offline commands. Plaintext is never
written to disk: :func:`write_atomic` is used for SealedSecrets and public keys, and private keys
from ``seal keygen`` (mode 0600) only.

Every read is bounded: :func:`read_bounded` reads at most ``bound + 1`` bytes of a file, a pipe,
stdin or an HTTP body, and refuses with one line naming the input and the bound. Each kind of
input has its own bound (:class:`Limit`). Only regular files and pipes are read: a character
device such as ``/dev/zero`` or a terminal is refused before any byte is read, and a FIFO that no
program writes to is refused after :data:`PIPE_WAIT` seconds instead of blocking in ``open``.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import select
import stat
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import BinaryIO

from sealer.bounded import Limit, read_bounded
from sealer.errors import InputError

__all__ = [
    "NEW_FILE_MODE",
    "PIPE_WAIT",
    "Limit",
    "fetch_url",
    "fetch_url_final",
    "is_plain_http",
    "read_bounded",
    "read_input",
    "read_path",
    "write_atomic",
]

_URL_TIMEOUT = 15.0


#: How long a pipe given by path (a FIFO, ``<(…)``) may stay silent before its first byte.
PIPE_WAIT = 30.0


def read_path(
    path: str, *, what: str = "file", limit: int = Limit.FILE, pipe_wait: float = PIPE_WAIT
) -> bytes:
    """The bytes of a regular file or a pipe (``<(…)``, a FIFO), at most ``limit`` of them.

    A pipe must deliver its first byte (or its end) within ``pipe_wait`` seconds: a FIFO that no
    program writes to is refused instead of waited on for ever.
    """
    try:
        # O_NONBLOCK: opening a FIFO that has no writer returns at once instead of hanging.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{what} not found", where=path) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", where=path) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{what} is a directory", where=path)
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise InputError(f"{what} is not a regular file or a pipe", where=path)
        if stat.S_ISFIFO(mode):
            # Linux reports a FIFO readable once a writer has written or has come and gone, not
            # while none has connected yet (read() would say EOF then, and seal an empty value).
            ready, _, _ = select.select([fd], [], [], pipe_wait)
            if not ready:
                raise InputError(
                    f"nothing arrived on the pipe in {pipe_wait:g} s: is a program writing {what}?",
                    where=path,
                )
        # Blocking again, so a pipe whose writer is still producing is read to its end.
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return read_bounded(handle, limit, what=what, where=path)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", where=path) from None
    finally:
        os.close(fd)


def read_input(
    path: str | None,
    *,
    what: str,
    limit: int = Limit.MANIFEST,
    stdin: BinaryIO | None = None,
    allow_empty: bool = False,
) -> tuple[bytes, str]:
    """Bytes of ``path``, or of stdin for ``-``/None. Refuses a terminal, and an empty stream
    unless ``allow_empty`` (a value, as ``kubeseal --raw`` seals an empty one)."""
    if path not in (None, "-"):
        assert path is not None
        data = read_path(path, what=what, limit=limit)
        if not data.strip():
            raise InputError(f"is empty: no {what}", where=path)
        return data, path
    stream = stdin if stdin is not None else (sys.stdin.buffer if sys.stdin else None)
    if stream is None or stream.isatty():
        raise InputError(f"no input: give a FILE or pipe the {what} on stdin")
    data = read_bounded(stream, limit, what=what, where="<stdin>")
    if not data.strip() and not allow_empty:
        raise InputError(f"stdin is empty: no {what}")
    return data, "<stdin>"


def is_plain_http(url: str) -> bool:
    """Whether ``url`` is plain http to a host other than this machine's loopback.

    Loopback (``localhost``, 127.0.0.0/8, ::1; ``kubectl port-forward``) never crosses a network,
    so there is nothing in between to substitute a certificate.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        return False
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def fetch_url(url: str, *, what: str = "certificate", limit: int = Limit.CERTIFICATE) -> bytes:
    """GET ``url`` (http or https) with a timeout; errors name the URL, never the body.

    https certificates are verified (there is no switch to skip that). Returns the body; the
    caller warns about plain http with :func:`is_plain_http` on the final URL, which
    :func:`fetch_url_final` also returns, because a redirect can move https to http.
    """
    return fetch_url_final(url, what=what, limit=limit)[0]


def fetch_url_final(
    url: str, *, what: str = "certificate", limit: int = Limit.CERTIFICATE
) -> tuple[bytes, str]:
    """:func:`fetch_url`, and the URL the body came from after redirects."""
    if not url.startswith(("http://", "https://")):
        raise InputError("only http:// and https:// URLs are supported", where=url)
    import urllib.error  # deferred: most runs read a local file, and urllib costs start-up time
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=_URL_TIMEOUT) as response:  # noqa: S310
            final = str(response.geturl() or url)
            if not final.startswith(("http://", "https://")):
                raise InputError("redirected to a URL that is not http(s)", where=url)
            return read_bounded(response, limit, what=what, where=url), final
    except urllib.error.HTTPError as exc:
        raise InputError(f"cannot fetch {what}: HTTP {exc.code} {exc.reason}", where=url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InputError(f"cannot fetch {what}: {reason}", where=url) from None


NEW_FILE_MODE = 0o644


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once (the CLI is single-threaded).
    current = os.umask(0o077)
    os.umask(current)
    return current


def write_atomic(path: str, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the new one, never a partial one; on failure the temporary file
    is removed and the old file is untouched. An existing file keeps its mode (a 0600 file stays
    0600) and, where the user may set them, its owner and group; a symlink is followed, so the
    link stays and its target is replaced. A new file gets ``mode`` (default 0644) less the
    umask. An explicit ``mode`` (0600 for a private key) applies to an existing file too.
    """
    target = Path(path)
    with contextlib.suppress(OSError):
        if target.is_symlink():
            target = target.resolve(strict=True)
    try:
        existing: os.stat_result | None = target.stat()
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", where=path) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise InputError("cannot write: not a regular file", where=path)
    if mode is not None:
        final_mode = mode if existing is not None else mode & ~_umask()
    elif existing is not None:
        final_mode = stat.S_IMODE(existing.st_mode)
    else:
        final_mode = NEW_FILE_MODE & ~_umask()
    folder = target.parent if str(target.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", where=path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            # The temporary file is 0600 from mkstemp; set the mode (and owner) before any byte
            # lands, so there is never a moment the data is readable by more than it should be.
            if existing is not None:
                _keep_owner(handle.fileno(), existing)
            os.fchmod(handle.fileno(), final_mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise InputError(f"cannot write: {exc.strerror or exc}", where=path) from None


def _keep_owner(fd: int, existing: os.stat_result) -> None:
    """The old file's owner and group on the new one, as far as this user may set them."""
    if (existing.st_uid, existing.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.fchown(fd, existing.st_uid, existing.st_gid)
    except PermissionError:
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, existing.st_gid)  # a member of the group may keep the group
