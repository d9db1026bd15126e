"""Server-side printing: answer ``Accept: application/json;as=Table`` with a ``meta.k8s.io/v1``
Table, as kubectl's default output asks for
(https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).

A watch asked for as a Table sends one single-row Table per event, the column definitions only
in the first, as the real server does. Columns are Name and Age plus, for custom resources, the
CRD's ``additionalPrinterColumns`` (simple JSONPath: ``.a.b``, ``[0]`` and
``[?(@.k=="v")]``), or for a few built-in kinds (Secret, ConfigMap, Namespace, ServiceAccount,
Service, Deployment) the columns a real server shows; other built-in kinds get Name and Age.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.kubeapi.resources import ResourceType

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


Column = tuple[Obj, Callable[[Obj], Any]]  # (column definition, cell of an object)


def _column(name: str, kind: str, cell: Callable[[Obj], Any]) -> Column:
    return ({"name": name, "type": kind, "format": "", "description": name, "priority": 0}, cell)


def _ports(obj: Obj) -> str:
    ports = (obj.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _ready(obj: Obj) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 1)}"


# The columns kubectl users know from a real server, for the built-in kinds seen in the demo.
_BUILTIN: dict[tuple[str, str], list[Column]] = {
    ("", "Secret"): [
        _column("Type", "string", lambda o: o.get("type", "")),
        _column("Data", "integer", lambda o: len(o.get("data") or {})),
    ],
    ("", "ConfigMap"): [
        _column(
            "Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})
        ),
    ],
    ("", "Namespace"): [
        _column("Status", "string", lambda o: (o.get("status") or {}).get("phase", ""))
    ],
    ("", "ServiceAccount"): [_column("Secrets", "integer", lambda o: len(o.get("secrets") or []))],
    ("", "Service"): [
        _column("Type", "string", lambda o: (o.get("spec") or {}).get("type", "ClusterIP")),
        _column("Cluster-IP", "string", lambda o: (o.get("spec") or {}).get("clusterIP", "<none>")),
        _column("Port(s)", "string", _ports),
    ],
    ("apps", "Deployment"): [
        _column("Ready", "string", _ready),
        _column(
            "Up-to-date", "integer", lambda o: (o.get("status") or {}).get("updatedReplicas", 0)
        ),
        _column(
            "Available", "integer", lambda o: (o.get("status") or {}).get("availableReplicas", 0)
        ),
    ],
}


def _path_cell(path: str) -> Callable[[Obj], Any]:
    return lambda obj: jsonpath(obj, path)


def _extra_columns(rt: ResourceType) -> list[Column]:
    """Columns between Name and Age: the CRD's printer columns, or a built-in kind's."""
    if not rt.custom:
        return _BUILTIN.get((rt.group, rt.kind), [])
    return [
        (
            {
                "name": c["name"],
                "type": c.get("type", "string"),
                "format": c.get("format", ""),
                "description": c.get("description", ""),
                "priority": c.get("priority", 0),
            },
            _path_cell(c.get("jsonPath", "")),
        )
        for c in rt.printer_columns
        if c.get("jsonPath") != ".metadata.creationTimestamp"
    ]


def _columns(extra: list[Column]) -> list[Obj]:
    name = {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name",
        "priority": 0,
    }
    age_column = {"name": "Age", "type": "date", "format": "", "description": "Age", "priority": 0}
    return [name, *(definition for definition, _ in extra), age_column]


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
    extra = _extra_columns(rt)
    rows = []
    for obj in items:
        metadata = obj.get("metadata", {})
        cells = [metadata.get("name", "")]
        cells += [_cell(cell(obj)) for _, cell in extra]
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
        "columnDefinitions": _columns(extra) if columns else [],
        "rows": rows,
    }
