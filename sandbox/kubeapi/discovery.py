"""Discovery documents: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/G``, ``/apis/G/V``.

The legacy (unaggregated) discovery format of
https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api ; clients that ask for
aggregated discovery (kubectl does) get plain ``application/json`` and fall back to these, as
they would with an older server. Built from the registry on each request, so a CRD shows up as
soon as it is created.
"""

from __future__ import annotations

from typing import Any

from sandbox.kubeapi.resources import Registry

Obj = dict[str, Any]

VERSION: Obj = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sealops-kubeapi",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def core_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> Obj:
    groups = [_group(g, vs) for g, vs in registry.groups().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> Obj | None:
    versions = registry.groups().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(registry: Registry, group_name: str, version: str) -> Obj | None:
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": [entry for t in types for entry in t.discovery_entries()],
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(registry: Registry) -> Obj:
    """``/openapi/v3``: the index of per-group-version documents (kubectl reads it before apply)."""
    paths = {}
    for group, versions in registry.groups().items():
        for version in versions:
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}"}
    return {"paths": paths}


def openapi_group_version(registry: Registry, group: str, version: str) -> Obj | None:
    """A minimal OpenAPI v3 document for one group-version: only the PATCH operations, marked
    with their group-version-kind and the ``fieldValidation`` parameter, which is what kubectl
    looks for to choose server-side field validation instead of downloading full schemas. No
    component schemas are given, so kubectl computes strategic merge patches from its built-in
    types and uses JSON merge patches for custom resources, as it does for CRDs without schema."""
    types = registry.in_group_version(group, version)
    if not types:
        return None
    paths: Obj = {}
    for t in types:
        prefix = f"/{_gv_path(group, version)}"
        where = (
            f"{prefix}/namespaces/{{namespace}}/{t.plural}/{{name}}"
            if t.namespaced
            else f"{prefix}/{t.plural}/{{name}}"
        )
        paths[where] = {
            "patch": {
                "operationId": f"patch{t.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {
                    "group": group,
                    "version": version,
                    "kind": t.kind,
                },
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (sealops kubeapi emulator)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
