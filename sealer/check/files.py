"""``seal check PATHS``: the files to scan, read with bounds, and the files a kustomization
names (read only inside the repository)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sealer.bounded import InputTooLarge, read_regular_file
from sealer.check.scan import scan
from sealer.check.state import Finding
from sealer.errors import InputError

__all__ = ["MAX_FILE_BYTES", "check_paths", "is_helm_template"]

#: Larger files are not read; they are reported (fail closed) unless allowed.
MAX_FILE_BYTES = 32 * 1024 * 1024


def is_helm_template(path: Path) -> bool:
    """Under a ``templates/`` folder whose parent holds a ``Chart.yaml``: a Helm template."""
    for folder in path.parents:
        if folder.name == "templates" and (folder.parent / "Chart.yaml").is_file():
            return True
    return False


def check_paths(
    paths: Sequence[str],
    *,
    allow_unparsable: Sequence[str] = (),
    root: Path | None = None,
) -> list[Finding]:
    """``seal check PATHS``: each file, and each file under each folder (hidden folders,
    ``node_modules`` and symbolic links are skipped: Git stores a link, not what it points to).

    ``allow_unparsable``: globs (fnmatch, ``*`` crosses ``/``) of YAML files to check as text
    when they do not parse. ``root``: kustomize ``secretGenerator`` files are read only inside
    it (the current folder: the repository, for pre-commit).
    """
    base = (root or Path()).resolve()
    findings: list[Finding] = []
    for path in _files(paths):
        name = str(path)
        allowed = any(
            fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(path.as_posix(), glob)
            for glob in allow_unparsable
        )
        content = _read_bounded(path, name)
        if content is None:
            if not allowed:
                findings.append(
                    Finding(name, 1, f"too large to check (over {MAX_FILE_BYTES} bytes)")
                )
            continue
        findings += scan(
            name,
            content,
            allow_unparsable=allowed,
            template=is_helm_template(path),
            read_relative=_reader(path.parent, base),
        )
    return findings


def _files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths or (".",):
        path = Path(raw)
        if path.is_symlink():
            continue
        if path.is_dir():
            try:
                found = sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not p.is_symlink() and not _ignored(p.relative_to(path))
                )
            except OSError as exc:
                raise InputError(f"cannot read folder: {exc.strerror or exc}", where=raw) from None
            yield from found
        elif not path.exists():
            raise InputError("not found", where=raw)
        elif not path.is_file():
            raise InputError("is not a regular file", where=raw)  # /dev/zero, a FIFO
        else:
            yield path


def _read_bounded(path: Path, name: str) -> bytes | None:
    """The file's bytes, or None when it has more than :data:`MAX_FILE_BYTES`."""
    try:
        return read_regular_file(path, MAX_FILE_BYTES, where=name)
    except InputTooLarge:
        return None


def _ignored(relative: Path) -> bool:
    return any(
        part.startswith(".") or part in ("node_modules", "__pycache__") for part in relative.parts
    )


def _reader(folder: Path, root: Path) -> Callable[[str], bytes | None]:
    def read(name: str) -> bytes | None:
        try:
            target = (folder / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                return None
            content = _read_bounded(target, name)
        except (OSError, ValueError, InputError):
            return None
        return b"(too large to read)" if content is None else content

    return read
