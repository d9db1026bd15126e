"""How the renderer touches the disk: the app directory's links, bounded reads, bounded tools.

Called by :mod:`sealer.render.inputs` and :mod:`sealer.render.pipeline`. An Argo CD app
directory or a kustomization is written by whoever can push to the repository, so nothing in it
may make the renderer read outside it:

* :func:`check_tree` refuses, before anything is read or any tool runs, a symbolic link (to a
  file or to a directory) whose resolved target is outside the directory, a link that cannot be
  followed (dangling, or a loop), and anything that is not a regular file, a directory or such a
  link (a FIFO, a socket, a device). A link whose target is inside the directory is allowed, as
  kustomize allows it (its load restrictor checks where a link resolves, not that it is one).
* :func:`read_bounded` reads one regular file, never more than :data:`MAX_FILE_BYTES`; it opens
  without blocking, so a FIFO that appears after the check cannot hang the run.
* :func:`run_tool` runs kustomize or helm with its output bounded by :data:`MAX_TOOL_OUTPUT`.

Every path shown in an error goes through :func:`shown`, so a name holding a newline or a
terminal escape still gives one plain line.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from sealer.bounded import human_size, read_regular_file, special_kind
from sealer.errors import InputError, printable

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TOOL_OUTPUT",
    "MAX_TOTAL_BYTES",
    "check_tree",
    "inside",
    "read_bounded",
    "run_tool",
    "shown",
]

#: One manifest file (the API server takes objects of at most 1.5 MiB; a file holds several).
MAX_FILE_BYTES = 16 * 1024 * 1024
#: All the files of one directory together.
MAX_TOTAL_BYTES = 128 * 1024 * 1024
#: What ``kustomize build`` or ``helm template`` may print.
MAX_TOOL_OUTPUT = 128 * 1024 * 1024
_STDERR_KEPT = 64 * 1024
_CHUNK = 1024 * 1024


def shown(path: object) -> str:
    """``path`` as text for one error line: control and invisible characters escaped."""
    return printable(str(path), limit=None)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every link resolved, is ``root`` (resolved) or below it."""
    real = Path(os.path.realpath(path))
    return real == Path(os.path.realpath(root)) or real.is_relative_to(os.path.realpath(root))


def _entries(root: Path, *, hidden: bool) -> Iterator[tuple[Path, bool]]:
    """(path, is listed as a directory) for everything below ``root``; links are not entered."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        if not hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        dirs.sort()
        for name in sorted(files):
            yield Path(folder) / name, False
        for name in dirs:
            yield Path(folder) / name, True


def check_tree(root: Path, *, hidden: bool) -> None:
    """Refuse links out of ``root`` and special files anywhere below it (``hidden``: in dot
    directories too, for tools that read them). Raises :class:`InputError` naming the entry."""
    for path, _ in _entries(root, hidden=hidden):
        try:
            mode = path.lstat().st_mode
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", where=shown(path)) from None
        if stat.S_ISLNK(mode):
            _check_link(path, root)
        elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(
                f"is {special_kind(mode)}, not a regular file: refused", where=shown(path)
            )


def _check_link(link: Path, root: Path) -> None:
    where = shown(link)
    if not inside(link, root):
        raise InputError(
            f"is a symbolic link to a path outside {shown(root)}: refused "
            "(links may only point inside the directory, as kustomize requires)",
            where=where,
        )
    try:
        mode = link.stat().st_mode  # follows the whole chain
    except OSError:
        raise InputError(
            "is a symbolic link that cannot be followed (dangling, or a loop): refused",
            where=where,
        ) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise InputError(
            f"is a symbolic link to {special_kind(mode)}, not a regular file: refused", where=where
        )


def read_bounded(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path``; refused if it is anything else or over ``limit``."""
    return read_regular_file(path, limit, where=shown(path))


def run_tool(
    command: list[str], *, where: str, timeout: float, limit: int = MAX_TOOL_OUTPUT
) -> bytes:
    """``command``'s stdout; :class:`InputError` if it fails, times out or prints over ``limit``.

    The error quotes at most the tool's last stderr line (kustomize and helm name files and
    fields there, not values), cut to 300 characters.
    """
    name = " ".join(command[:2])
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise InputError(f"{command[0]} failed: {type(exc).__name__}", where=where) from None
    assert proc.stdout is not None and proc.stderr is not None
    err_tail = bytearray()
    stdout, stderr = proc.stdout, proc.stderr

    def drain() -> None:
        for chunk in iter(lambda: stderr.read(_CHUNK), b""):
            err_tail.extend(chunk)
            del err_tail[:-_STDERR_KEPT]

    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        proc.kill()

    reader = threading.Thread(target=drain, daemon=True)
    timer = threading.Timer(timeout, expire)
    reader.start()
    timer.start()
    out = bytearray()
    too_big = False
    try:
        for chunk in iter(lambda: stdout.read(_CHUNK), b""):
            out += chunk
            if len(out) > limit:
                too_big = True
                proc.kill()
                break
        proc.wait()
    finally:
        timer.cancel()
        stdout.close()
        reader.join(timeout=5)
        stderr.close()
    if too_big:
        raise InputError(f"{name} printed more than {human_size(limit)}: refused", where=where)
    if timed_out.is_set():
        raise InputError(f"{name} failed: TimeoutExpired after {timeout:g}s", where=where)
    if proc.returncode != 0:
        lines = bytes(err_tail).decode(errors="replace").strip().splitlines() or ["(no message)"]
        raise InputError(f"{name} failed: {shown(lines[-1][:300])}", where=where)
    return bytes(out)
