"""A Helm chart as `seal render` reads it: ``helm template``, with values, CRDs and dependencies.

Called by :mod:`sealer.render.inputs` for a directory holding ``Chart.yaml``, after
:func:`~sealer.render.files.check_tree` has checked it. :class:`ChartOptions` are what the
command line and the Argo CD Application choose (lists, never a string a shell splits):

* ``values``: values files, relative to the chart's directory (as Argo CD's Helm ``valueFiles``)
  or absolute; each must be a file that resolves inside the chart's directory, so an
  Application cannot make helm read ``/proc/self/environ`` or ``../other-team/values.yaml``;
* ``set``: Helm ``--set`` expressions, one per item (``image.tag=v2``; Helm's own syntax);
* ``include_crds``: keep the chart's ``crds/`` (``helm template --include-crds``).

When ``Chart.lock`` lists a dependency missing from ``charts/``, ``helm dependency build`` runs
first, as Argo CD does; a ``file://`` repository must resolve inside the chart's directory. The
release is ``ARGOCD_APP_NAME`` (else the directory's name), the namespace
``ARGOCD_APP_NAMESPACE``. Flags come first and as ``--flag=value``, then ``--``, then the
release and the absolute chart path, so nothing the repository or the Application names is read
as a flag. helm's output is bounded (:func:`~sealer.render.files.run_tool`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.errors import InputError, ManifestError
from sealer.reader import read_yaml_document
from sealer.render.files import inside, read_bounded, run_tool, shown

__all__ = ["ChartOptions", "helm_command", "prepare_dependencies"]

_TOOL_TIMEOUT = 300


@dataclass(frozen=True)
class ChartOptions:
    """How to render a chart: values files, ``--set`` expressions, whether to keep ``crds/``."""

    values: tuple[str, ...] = ()
    set: tuple[str, ...] = ()
    include_crds: bool = False

    def __bool__(self) -> bool:
        return bool(self.values or self.set or self.include_crds)


def values_files(root: Path, values: tuple[str, ...]) -> list[str]:
    """The absolute path of each values file, each checked to be a file inside ``root``."""
    out = []
    for value in values:
        path = Path(value) if Path(value).is_absolute() else root / value
        if not value or not inside(path, root):
            raise InputError(
                f"values file {shown(value)} is outside the chart's directory: refused",
                where=shown(root),
            )
        if not path.is_file():
            raise InputError(f"values file {shown(value)} is not a file", where=shown(root))
        out.append(str(path.resolve()))
    return out


def helm_command(root: Path, options: ChartOptions, environ: Mapping[str, str]) -> list[str]:
    """The ``helm template`` command line for the chart at ``root``."""
    release = environ.get("ARGOCD_APP_NAME") or root.resolve().name
    command = ["helm", "template"]
    if environ.get("ARGOCD_APP_NAMESPACE"):
        command += ["--namespace", environ["ARGOCD_APP_NAMESPACE"]]
    if options.include_crds:
        command.append("--include-crds")
    command += [f"--values={path}" for path in values_files(root, options.values)]
    for expression in options.set:
        if not expression or "\n" in expression:
            raise InputError("a --set expression is empty or holds a newline", where=shown(root))
        command.append(f"--set={expression}")
    return [*command, "--", release, str(root.resolve())]


def _listed(root: Path, name: str) -> list[dict[str, Any]]:
    """The ``dependencies`` that ``Chart.lock`` or ``Chart.yaml`` lists (none without the file)."""
    path = root / name
    if not path.is_file():
        return []
    try:
        doc = read_yaml_document(read_bounded(path), source=shown(path))
    except ManifestError:
        raise InputError(f"cannot read {name}", where=shown(path)) from None
    deps = doc.get("dependencies") if isinstance(doc, dict) else None
    if deps is None:
        return []
    if not isinstance(deps, list) or not all(
        isinstance(d, dict) and isinstance(d.get("name"), str) for d in deps
    ):
        raise InputError("dependencies must be a list of charts with a name", where=shown(path))
    return deps


def _present(root: Path, dep: Mapping[str, Any]) -> bool:
    name, version = dep["name"], str(dep.get("version", ""))
    charts = root / "charts"
    return (charts / f"{name}-{version}.tgz").is_file() or (charts / name / "Chart.yaml").is_file()


def prepare_dependencies(root: Path) -> None:
    """Run ``helm dependency build`` when ``Chart.lock`` lists a chart missing from ``charts/``.

    Helm then builds every dependency the lock lists, not only the missing ones, so every
    ``file://`` dependency of ``Chart.lock`` and ``Chart.yaml`` must be inside the chart first.
    """
    locked = _listed(root, "Chart.lock")
    if all(_present(root, dep) for dep in locked):
        return
    for name in ("Chart.lock", "Chart.yaml"):
        for dep in locked if name == "Chart.lock" else _listed(root, name):
            repository = str(dep.get("repository") or "")
            if repository.startswith("file://") and not inside(
                root / repository.removeprefix("file://"), root
            ):
                raise InputError(
                    f"{name}: dependency {shown(dep['name'])} is a file:// chart outside "
                    "the chart's directory: refused",
                    where=shown(root),
                )
    _require_helm(root)
    command = ["helm", "dependency", "build", "--", str(root.resolve())]
    run_tool(command, where=shown(root), timeout=_TOOL_TIMEOUT)


def _require_helm(root: Path) -> None:
    if not shutil.which("helm"):
        raise InputError(
            "holds a Helm chart (Chart.yaml), but helm is not on PATH", where=shown(root)
        )


def render_chart(root: Path, options: ChartOptions, environ: Mapping[str, str]) -> bytes:
    """``helm template``'s output for the chart at ``root`` (dependencies built first)."""
    _require_helm(root)
    command = helm_command(root, options, environ)
    prepare_dependencies(root)
    return run_tool(command, where=shown(root), timeout=_TOOL_TIMEOUT)
