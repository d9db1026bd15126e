"""YAML and JSON documents: load (bounded, one reader) and dump (YAML or JSON, deterministic)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sealer.errors import ManifestError
from sealer.lists import flatten
from sealer.manifests.yamlout import dump_yaml
from sealer.reader import DEFAULT_LIMITS, ReadLimits, read_yaml

# ---------------------------------------------------------------------------------------------
# Documents


def load_documents(
    data: bytes | str, *, source: str, limits: ReadLimits = DEFAULT_LIMITS
) -> list[dict[str, Any]]:
    """Every object in a YAML or JSON stream, with ``List`` kinds flattened. Empty docs skipped.

    Read by :func:`sealer.reader.read_yaml` under ``limits`` (size, documents, depth, aliases,
    expanded size); Lists nest at most ``limits.max_list_depth`` deep and give at most
    ``limits.max_objects`` objects. Errors give the line and column only, never the text.
    """
    out: list[dict[str, Any]] = []
    for index, doc in enumerate(read_yaml(data, source=source, limits=limits)):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"document {index + 1} is a {type(doc).__name__}, not a Kubernetes object",
                where=source,
            )
        flatten(doc, source=source, limits=limits, into=out)
    return out


def dump_documents(docs: list[dict[str, Any]], output: str) -> str:
    """YAML (``---``-separated) or JSON (one object, or a ``v1 List`` for several)."""
    if output == "json":
        body: Any = (
            docs[0] if len(docs) == 1 else {"apiVersion": "v1", "kind": "List", "items": docs}
        )
        try:
            return json.dumps(body, indent=2, default=_json_value) + "\n"
        except TypeError:  # a mapping key that is not text or a number (a date, say)
            raise ManifestError("holds a mapping key that JSON cannot hold") from None
    return dump_yaml(docs)


def _json_value(value: Any) -> Any:
    """What JSON has no type for, as Kubernetes writes it: timestamps as text, bytes as base64."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise ManifestError(f"holds a {type(value).__name__}, which JSON cannot hold")
