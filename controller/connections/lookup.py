"""Which connection a VaultSecret's ``spec.connectionRef`` names: the kind and the tenant rule.

A VaultSecret may use a VaultConnection of its own namespace, or a ClusterVaultConnection whose
``allowedNamespaces`` (exact names or globs like ``team-*``) include its namespace; nothing else.
The rule is checked on every call, before any cached resolver is looked up. A ClusterVaultConnection
that does not exist and one that does not allow the namespace get the same answer, so a tenant
cannot learn which exist.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.connections.errors import ConnectionForbidden, ConnectionInvalid
from sealer.api import CLUSTER_VAULT_CONNECTIONS, VAULT_CONNECTIONS
from sealer.kube import Kube, KubeNotFound, check_name

__all__ = ["Connection", "find_connection"]

_FIELD = "spec.connectionRef"


@dataclass(frozen=True)
class Connection:
    """A (Cluster)VaultConnection a VaultSecret may use, and where its credentials live."""

    kind: str
    namespace: str  # "" for a ClusterVaultConnection
    name: str
    body: Mapping[str, Any]
    #: A VaultConnection's Secrets are its own namespace's; a ClusterVaultConnection's are the
    #: controller's (the cluster admin's), so tenants cannot read each other's.
    secrets_namespace: str

    @property
    def cluster_wide(self) -> bool:
        return self.kind == "ClusterVaultConnection"

    @property
    def where(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind} {self.name}"
        )

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.body.get("spec") or {}

    @property
    def version(self) -> str:
        return str((self.body.get("metadata") or {}).get("resourceVersion"))


def find_connection(
    kube: Kube, namespace: str, connection_ref: Mapping[str, Any], *, controller_namespace: str
) -> Connection:
    """The connection ``connection_ref`` names for a VaultSecret in ``namespace``, if allowed."""
    kind = str(connection_ref.get("kind") or "VaultConnection")
    if connection_ref.get("namespace") not in (None, "", namespace):
        raise ConnectionInvalid(
            "a connection is always looked up in the VaultSecret's own namespace (or, for a "
            "ClusterVaultConnection, through its allowedNamespaces): remove it",
            field=f"{_FIELD}.namespace",
        )
    name = connection_ref.get("name")
    if kind == "VaultConnection":
        name = check_name(VAULT_CONNECTIONS, name, field=f"{_FIELD}.name")
        return Connection(kind, namespace, name, _own(kube, namespace, name), namespace)
    if kind == "ClusterVaultConnection":
        name = check_name(CLUSTER_VAULT_CONNECTIONS, name, field=f"{_FIELD}.name")
        body = _cluster_wide(kube, name, namespace)
        return Connection(kind, "", name, body, controller_namespace)
    raise ConnectionInvalid(
        f"must be VaultConnection or ClusterVaultConnection, not {kind[:64]!a}",
        field=f"{_FIELD}.kind",
    )


def _own(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    try:
        return kube.get(VAULT_CONNECTIONS, namespace, name)
    except KubeNotFound:
        raise ConnectionInvalid(
            f"VaultConnection {namespace}/{name} not found", field=_FIELD
        ) from None


def _cluster_wide(kube: Kube, name: str, namespace: str) -> dict[str, Any]:
    """The ClusterVaultConnection, if it allows ``namespace``; missing and refused read the same."""
    refused = ConnectionForbidden(
        f"ClusterVaultConnection {name} does not exist or does not allow namespace "
        f"{namespace} (its spec.allowedNamespaces)",
        field=_FIELD,
    )
    try:
        conn = kube.get(CLUSTER_VAULT_CONNECTIONS, None, name)
    except KubeNotFound:
        raise refused from None
    allowed = (conn.get("spec") or {}).get("allowedNamespaces") or []
    if not isinstance(allowed, list) or not any(
        isinstance(p, str) and fnmatch.fnmatchcase(namespace, p) for p in allowed
    ):
        raise refused
    return conn
