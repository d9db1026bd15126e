"""CustomResourceDefinitions: from a stored CRD to served resource types and their schemas.

A CRD posted to ``apiextensions.k8s.io/v1`` adds one :class:`ResourceType` per served version;
its ``openAPIV3Schema`` is compiled once here. The CRD's status is set to Established at once (a
real server takes a moment; clients that wait for the condition see it immediately). See
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.kubeapi.errors import invalid
from sandbox.kubeapi.resources import ResourceType
from sandbox.kubeapi.schema import CompiledSchema

Obj = dict[str, Any]


def check(crd: Obj) -> None:
    """The structural checks whose failure would leave a CRD unservable (422)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    name = crd["metadata"]["name"]
    causes = []
    if not spec.get("group"):
        causes.append(("spec.group", "Required value"))
    if not names.get("plural") or not names.get("kind"):
        causes.append(("spec.names", "Required value: plural and kind are required"))
    elif name != f"{names['plural']}.{spec.get('group')}":
        causes.append(
            ("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", 'Unsupported value: must be "Namespaced" or "Cluster"'))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(("spec.versions", "Required value"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            (
                "spec.versions",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    if causes:
        raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes)


def served_types(crd: Obj) -> list[tuple[ResourceType, CompiledSchema | None]]:
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        rt = ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec["scope"] == "Namespaced",
            singular=names.get("singular", names["kind"].lower()),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            has_status="status" in (version.get("subresources") or {}),
            has_generation=True,
            custom=True,
            schema=schema,
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
        )
        out.append((rt, CompiledSchema(schema) if schema else None))
    return out


def established(crd: Obj, now: str) -> Obj:
    """``crd`` with the status a real server reaches once the names are accepted."""
    out = copy.deepcopy(crd)
    names = copy.deepcopy(out["spec"]["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    out["status"] = {
        "acceptedNames": names,
        "conditions": [
            {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": now}
            for t, r, m in (
                ("NamesAccepted", "NoConflicts", "no conflicts found"),
                ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            )
        ],
        "storedVersions": [v["name"] for v in out["spec"]["versions"] if v.get("storage")],
    }
    return out
