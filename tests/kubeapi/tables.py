"""Server-side printing: answer ``Accept: application/json;as=Table`` with a ``meta.k8s.io/v1``
Table, as kubectl's default output asks for
(https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).

A watch asked for as a Table sends one single-row Table per event, the column definitions only
in the first, as the real server does. Columns are Name and Age plus, for custom resources, the
CRD's ``additionalPrinterColumns`` (simple JSONPath: ``.a.b``, ``[0]`` and
``[?(@.k=="v")]``). Built-in kinds get Name and Age only; their real server-side columns are
not reproduced.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.kubeapi.resources import ResourceType

Obj = dict[str, Any]
TABLE_MARK = "as=Table"
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\?\(@\.([^=]+)==[\"']([^\"']*)[\"']\)\]")


def jsonpath(obj: Any, path: str) -> Any:
    node = obj
    for name, index, key, value in _STEP.findall(path):
        if name:
            node = node.get(name) if isinstance(node, dict) else None
        elif index:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        else:
            found = [i for i in node or [] if isinstance(i, dict) and str(i.get(key)) == value]
            node = found[0] if found else None
        if node is None:
            return None
    return node


def age(stamp: str | None, now: datetime | None = None) -> str:
    """kubectl's short duration: 45s, 12m, 5h, 3d."""
    if not stamp:
        return "<unknown>"
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _columns(rt: ResourceType) -> list[Obj]:
    columns: list[Obj] = [
        {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}
    ]
    extra = [c for c in rt.printer_columns if c.get("jsonPath") != ".metadata.creationTimestamp"]
    columns += [
        {
            "name": c["name"],
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in extra
    ]
    columns.append(
        {"name": "Age", "type": "date", "format": "", "description": "Age", "priority": 0}
    )
    return columns


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value if isinstance(value, str | int | float | bool) else str(value)


def to_table(
    rt: ResourceType,
    items: list[Obj],
    *,
    meta: Obj | None = None,
    single: bool = False,
    columns: bool = True,
) -> Obj:
    """A Table of ``items``; ``single`` takes the resourceVersion from the one item, and
    ``columns=False`` leaves out the column definitions (watch events after the first)."""
    extra = [c for c in rt.printer_columns if c.get("jsonPath") != ".metadata.creationTimestamp"]
    rows = []
    for obj in items:
        metadata = obj.get("metadata", {})
        cells = [metadata.get("name", "")]
        cells += [_cell(jsonpath(obj, c.get("jsonPath", ""))) for c in extra]
        cells.append(age(metadata.get("creationTimestamp")))
        partial = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
        }
        rows.append({"cells": cells, "object": partial})
    table_meta = {"resourceVersion": (meta or {}).get("resourceVersion", "")}
    if single and items:
        table_meta["resourceVersion"] = items[0].get("metadata", {}).get("resourceVersion", "")
    if meta and meta.get("continue"):
        table_meta["continue"] = meta["continue"]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": table_meta,
        "columnDefinitions": _columns(rt) if columns else [],
        "rows": rows,
    }
