"""Whether a (Cluster)VaultConnection can log in: the check behind its own status.

The same steps a VaultSecret's first read takes (its credentials, its auth method, its settings:
:mod:`~controller.connections.credentials`, :mod:`~controller.connections.auth`), then one login
with a session of its own, never a cached resolver's, so the answer is the connection's as it is
now. The login is a :data:`LoginCheck` (the operator's logs in over hvac and gives the token
back); errors are the connection layer's and Vault's, which name fields, never values.

Kubernetes auth logs in as the tenant's ServiceAccount. A VaultConnection's tenant is its own
namespace. A ClusterVaultConnection's tenants are its ``allowedNamespaces``: it is checked as the
first one named without wildcards; with none, there is no tenant to log in as, and the check says
so (``InvalidSpec`` on ``spec.allowedNamespaces``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from controller.connections.errors import ConnectionInvalid
from controller.connections.lookup import Connection
from sealer.api import CLUSTER_VAULT_CONNECTION, metadata
from sealer.errors import ManifestError
from sealer.kube import check_namespace
from sealer.vault import VaultConfig

__all__ = ["LoginCheck", "checked_connection", "tenant_of"]

#: Logs in once with ``config``; raises a :class:`~sealer.vault.VaultError` if it cannot.
LoginCheck = Callable[[VaultConfig], None]

_WILDCARDS = frozenset("*?[")


def checked_connection(
    kind: str, body: Mapping[str, Any], *, controller_namespace: str
) -> Connection:
    """The connection object itself, as :func:`~controller.connections.lookup.find_connection`
    would hand it to a VaultSecret (its credentials where its kind keeps them)."""
    meta = metadata(body)
    name = str(meta.get("name") or "")
    if kind == CLUSTER_VAULT_CONNECTION:
        return Connection(kind, "", name, body, controller_namespace)
    namespace = str(meta.get("namespace") or "")
    return Connection(kind, namespace, name, body, namespace)


def tenant_of(connection: Connection) -> str:
    """The namespace whose ServiceAccount Kubernetes auth logs in as for the check."""
    if not connection.cluster_wide:
        return connection.namespace
    allowed = connection.spec.get("allowedNamespaces") or []
    for pattern in allowed if isinstance(allowed, list) else []:
        if isinstance(pattern, str) and pattern and not _WILDCARDS & set(pattern):
            try:
                return check_namespace(pattern, field="spec.allowedNamespaces")
            except ManifestError:
                continue  # not a namespace name: the next
    raise ConnectionInvalid(
        "Kubernetes auth logs in as each tenant's ServiceAccount: name one namespace without "
        "wildcards, for the status check to log in as",
        where=connection.where,
        field="spec.allowedNamespaces",
    )
