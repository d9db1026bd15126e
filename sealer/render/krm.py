"""KRM functions: a ``ResourceList`` in, a ``ResourceList`` out (kustomize, kpt).

Called by the CLI for ``seal render --krm``. Options come from the flags and from
``functionConfig`` (a ConfigMap's ``data`` or any object's ``spec``: ``mode``,
``denyPlaintext``, ``connection``, ``connectionKind``). Each item's file is taken from the
``config.kubernetes.io/path`` annotations, so errors still name a file. On failure the items go
back unchanged (they hold placeholders only) with one ``results`` entry of severity ``error``
naming the object, the field and the file; the caller then exits non-zero. The items that go
back are read again from the input, byte for byte the objects that came in: the render fills
values into the objects it is given, so the ones before the failing one would hold values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sealer.api import metadata
from sealer.errors import InputError, ManifestError, SealopsError
from sealer.reader import InputBoundError, read_yaml_document
from sealer.render.engine import RenderFailed
from sealer.render.files import shown
from sealer.render.inputs import Document

__all__ = ["ResourceList", "function_options", "parse_resource_list", "result_list"]

ResourceList = dict[str, Any]
_PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")


def parse_resource_list(data: bytes) -> tuple[ResourceList, list[Document]]:
    try:
        doc = read_yaml_document(data, source="stdin")
    except InputBoundError:
        raise
    except ManifestError:
        raise InputError("stdin is not a YAML ResourceList", where="stdin") from None
    if not isinstance(doc, dict) or doc.get("kind") != "ResourceList":
        raise InputError("--krm expects a ResourceList on stdin", where="stdin")
    items = doc.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError("ResourceList items must be a list of objects", where="stdin")
    docs = [Document(_source(item, index), item) for index, item in enumerate(items)]
    return doc, docs


def function_options(resource_list: ResourceList) -> dict[str, str]:
    config = resource_list.get("functionConfig") or {}
    if not isinstance(config, dict):
        return {}
    raw = config.get("data") if config.get("kind") == "ConfigMap" else config.get("spec")
    return {str(k): str(v) for k, v in (raw or {}).items()} if isinstance(raw, dict) else {}


def result_list(
    resource_list: ResourceList,
    items: list[dict[str, Any]] | None,
    error: SealopsError | None,
    *,
    rendered: Sequence[Document] = (),
    original: Sequence[Document] = (),
) -> ResourceList:
    """The output list: new items on success; on failure ``resource_list`` (which the caller
    reads again from its input: the render fills values into the objects it is given) and an
    error result. The failing object is named as ``original`` holds it: ``rendered[i]`` (what
    the render was given) may have had values filled in already."""
    out = dict(resource_list)
    if error is None:
        assert items is not None
        out["items"] = items
        return out
    result: dict[str, Any] = {"message": " ".join(str(error).split()), "severity": "error"}
    if isinstance(error, RenderFailed) and error.document is not None:
        obj = error.document.obj
        for index, doc in enumerate(rendered):
            if doc is error.document and index < len(original):
                obj = original[index].obj
        meta = metadata(obj)
        result["resourceRef"] = {
            k: v
            for k, v in (
                ("apiVersion", obj.get("apiVersion")),
                ("kind", obj.get("kind")),
                ("name", meta.get("name")),
                ("namespace", meta.get("namespace")),
            )
            if v
        }
        if error.field_path:
            result["field"] = {"path": error.field_path}
        result["file"] = {"path": error.document.source}
    out["results"] = [result]
    return out


def _source(item: dict[str, Any], index: int) -> str:
    notes = metadata(item).get("annotations") or {}
    for name in _PATH_ANNOTATIONS:
        if isinstance(notes, dict) and notes.get(name):
            return shown(notes[name])  # a path with a newline must not split an error line
    return f"ResourceList items[{index}]"
