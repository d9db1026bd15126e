"""What `seal render` reads: a directory, a kustomization, a Helm chart, a file or a stream.

Called by the CLI; returns :class:`Document` s (the object and the file it came from, for error
lines). A directory holding ``kustomization.yaml`` is built with ``kustomize build``, or failing
that ``kubectl kustomize``; one holding ``Chart.yaml`` with ``helm template``
(:mod:`sealer.render.chart`: values files, ``--set``, ``--include-crds``, dependencies). Any other
directory gives every ``*.yaml``, ``*.yml`` and ``*.json`` below it, in path order, skipping
hidden directories. The tools' output stays in memory; nothing is written to disk.

The directory's contents come from whoever can push to the repository, so before anything is
read or run, :func:`~sealer.render.files.check_tree` refuses a link out of it and any FIFO,
socket or device in it; every file read and every tool's output is bounded in size
(:mod:`sealer.render.files`). Tools get ``--`` before their positional arguments, and absolute
paths, so no directory name is taken for a flag.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.errors import InputError
from sealer.manifests import load_documents
from sealer.render.chart import ChartOptions, render_chart
from sealer.render.files import MAX_TOTAL_BYTES, check_tree, read_bounded, run_tool, shown

__all__ = ["ChartOptions", "Document", "load_path", "load_stream"]


_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_SUFFIXES = (".yaml", ".yml", ".json")
_TOOL_TIMEOUT = 300


@dataclass
class Document:
    source: str
    obj: dict[str, Any]


def load_stream(data: bytes, *, source: str) -> list[Document]:
    """Every object of a YAML or JSON stream; ``List`` kinds flattened, empty documents skipped."""
    return [Document(source, obj) for obj in load_documents(data, source=source)]


def load_path(
    path: str, *, environ: Mapping[str, str] = os.environ, chart: ChartOptions | None = None
) -> list[Document]:
    """The documents at ``path``: a file, or a directory (kustomization, chart or manifests).

    A file named on the command line is read as given. A directory is first checked with
    :func:`~sealer.render.files.check_tree`: no link in it may point outside it, and nothing in
    it may be a FIFO, socket or device. ``chart`` options are for a Helm chart only.
    """
    root = Path(path)
    chart = chart or ChartOptions()
    kustomized = any(_exists(root / name) for name in _KUSTOMIZATIONS)
    if chart and (kustomized or not _exists(root / "Chart.yaml")):
        raise InputError(
            "is not a Helm chart: values files, --set and --include-crds apply to charts only",
            where=shown(root),
        )
    if root.is_file():
        return load_stream(read_bounded(root), source=shown(root))
    if not root.is_dir():
        raise InputError("no such file or directory", where=shown(root))
    if kustomized:
        check_tree(root, hidden=True)
        return _kustomize(root)
    if _exists(root / "Chart.yaml"):
        check_tree(root, hidden=True)
        return _helm(root, chart, environ)
    check_tree(root, hidden=False)
    docs: list[Document] = []
    total = 0
    for file in _manifest_files(root):
        data = read_bounded(file)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise InputError(
                f"its manifests add up to more than {MAX_TOTAL_BYTES // 2**20} MiB: refused",
                where=shown(root),
            )
        docs += load_stream(data, source=shown(os.path.normpath(file)))
    return docs


def _exists(path: Path) -> bool:
    """A kustomization or Chart.yaml, as a file or as a link (checked by check_tree next)."""
    return path.is_symlink() or path.is_file()


def _manifest_files(root: Path) -> list[Path]:
    """Every manifest below ``root`` once, in path order: regular files and links to files
    (links to directories are not entered: their target is inside ``root``, and read there)."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder) / f for f in files if f.endswith(_SUFFIXES)]
    return sorted(found)


def _kustomize(root: Path) -> list[Document]:
    # `--` ends the flags, and the path is absolute: a directory named like a flag stays a path.
    target = str(root.resolve())
    if shutil.which("kustomize"):
        command = ["kustomize", "build", "--", target]
    elif shutil.which("kubectl"):
        command = ["kubectl", "kustomize", "--", target]
    else:
        raise InputError(
            "holds a kustomization, but neither kustomize nor kubectl is on PATH",
            where=shown(root),
        )
    out = run_tool(command, where=shown(root), timeout=_TOOL_TIMEOUT)
    return load_stream(out, source=f"{shown(root)} ({' '.join(command[:2])})")


def _helm(root: Path, chart: ChartOptions, environ: Mapping[str, str]) -> list[Document]:
    out = render_chart(root, chart, environ)
    return load_stream(out, source=f"{shown(root)} (helm template)")
