"""What `seal render` reads: a directory, a kustomization, a Helm chart, a file or a stream.

Called by the CLI; returns :class:`Document` s (the object and the file it came from, for error
lines). A directory holding ``kustomization.yaml`` is built with ``kustomize build``, or failing
that ``kubectl kustomize``; one holding ``Chart.yaml`` with ``helm template`` (the release is
``ARGOCD_APP_NAME``, the namespace ``ARGOCD_APP_NAMESPACE``, as Argo CD names them). Any other
directory gives every ``*.yaml``, ``*.yml`` and ``*.json`` below it, in path order, skipping
hidden directories. The tools' output stays in memory; nothing is written to disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.errors import InputError
from sealer.manifests import load_documents

__all__ = ["Document", "load_path", "load_stream"]


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


def load_path(path: str, *, environ: Mapping[str, str] = os.environ) -> list[Document]:
    root = Path(path)
    if root.is_file():
        return load_stream(_read(root), source=str(root))
    if not root.is_dir():
        raise InputError("no such file or directory", where=str(root))
    if any((root / name).is_file() for name in _KUSTOMIZATIONS):
        return _kustomize(root)
    if (root / "Chart.yaml").is_file():
        return _helm(root, environ)
    docs: list[Document] = []
    for file in sorted(_manifest_files(root)):
        docs += load_stream(_read(file), source=os.path.normpath(file))
    return docs


def _manifest_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder) / f for f in files if f.endswith(_SUFFIXES)]
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from None


def _kustomize(root: Path) -> list[Document]:
    if shutil.which("kustomize"):
        command = ["kustomize", "build", str(root)]
    elif shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(root)]
    else:
        raise InputError(
            "holds a kustomization, but neither kustomize nor kubectl is on PATH", where=str(root)
        )
    return load_stream(_run(command, root), source=f"{root} ({' '.join(command[:2])})")


def _helm(root: Path, environ: Mapping[str, str]) -> list[Document]:
    if not shutil.which("helm"):
        raise InputError(
            "holds a Helm chart (Chart.yaml), but helm is not on PATH", where=str(root)
        )
    release = environ.get("ARGOCD_APP_NAME") or root.resolve().name
    command = ["helm", "template", release, str(root)]
    if environ.get("ARGOCD_APP_NAMESPACE"):
        command += ["--namespace", environ["ARGOCD_APP_NAMESPACE"]]
    return load_stream(_run(command, root), source=f"{root} (helm template)")


def _run(command: list[str], root: Path) -> bytes:
    try:
        proc = subprocess.run(command, capture_output=True, timeout=_TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{command[0]} failed: {type(exc).__name__}", where=str(root)) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines() or ["(no message)"]
        raise InputError(f"{' '.join(command[:2])} failed: {lines[-1][:300]}", where=str(root))
    return proc.stdout
