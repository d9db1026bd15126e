"""``List`` documents (``kind: List``, ``SecretList``, ...): their items are the objects.

The one flattener for the tree: :func:`sealer.manifests.load_documents` (``seal``, the renderer,
the controller's request bodies) and :mod:`sealer.keys` (key backups made with ``kubectl get
secret -o yaml``) use it. A List is a mapping whose ``kind`` ends in ``List`` and whose
``items`` is a list; Lists may nest, at most ``limits.max_list_depth`` deep, giving at most
``limits.max_objects`` objects in all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sealer.errors import ManifestError
from sealer.reader import DEFAULT_LIMITS, InputBoundError, ReadLimits

__all__ = ["flatten", "is_list"]


def is_list(doc: Mapping[str, Any]) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def flatten(
    doc: dict[str, Any],
    *,
    source: str,
    limits: ReadLimits = DEFAULT_LIMITS,
    into: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The objects of ``doc``, appended to ``into`` (a new list by default), which is returned.

    ``doc`` itself when it is not a List. An item that is not a mapping is a
    :class:`~sealer.errors.ManifestError`; a bound passed, an
    :class:`~sealer.reader.InputBoundError`; both name ``source``.
    """
    out: list[dict[str, Any]] = [] if into is None else into
    _flatten(doc, out, 1, source, limits)
    return out


def _flatten(
    doc: dict[str, Any], out: list[dict[str, Any]], depth: int, source: str, limits: ReadLimits
) -> None:
    if not is_list(doc):
        if len(out) >= limits.max_objects:
            raise InputBoundError(
                f"holds more than {limits.max_objects:,} objects; refused", where=source
            )
        out.append(doc)
        return
    if depth > limits.max_list_depth:
        raise InputBoundError(
            f"nests Lists deeper than {limits.max_list_depth} levels; refused", where=source
        )
    for index, item in enumerate(doc["items"]):
        if not isinstance(item, dict):
            raise ManifestError(
                f"List item {index + 1} is a {type(item).__name__}, not a Kubernetes object",
                where=source,
            )
        _flatten(item, out, depth + 1, source, limits)
