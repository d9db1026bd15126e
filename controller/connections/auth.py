"""From a connection's ``spec.auth`` to a :mod:`sealer.vault.auth` method, one builder per method.

Exactly one of ``token``, ``appRole`` or ``kubernetes``, checked in that order. Credentials come
through :class:`~controller.connections.credentials.Credentials`; Kubernetes auth gets its JWT
source from :class:`~controller.connections.tokens.TenantTokens`, for the VaultSecret's own
namespace (the tenant), never the connection's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.connections.credentials import Credentials
from controller.connections.errors import ConnectionInvalid, connection_name
from controller.connections.lookup import Connection
from controller.connections.tokens import TenantTokens
from sealer.api import SERVICE_ACCOUNTS
from sealer.vault import AppRoleAuth, Auth, KubernetesAuth, TokenAuth

__all__ = ["build_auth", "logs_in_as_tenant"]


def logs_in_as_tenant(connection: Connection) -> bool:
    """Whether the identity depends on the VaultSecret's namespace (one resolver per tenant)."""
    return "kubernetes" in _auth_spec(connection)


def build_auth(
    connection: Connection, credentials: Credentials, tokens: TenantTokens, *, tenant: str
) -> Auth:
    spec = _auth_spec(connection)
    if "token" in spec:
        ref = (spec["token"] or {}).get("secretRef")
        return TokenAuth(token=credentials.read(ref, "auth.token.secretRef"))
    if "appRole" in spec:
        return _approle(spec["appRole"] or {}, credentials)
    if "kubernetes" in spec:
        return _kubernetes(spec["kubernetes"] or {}, connection, tokens, tenant=tenant)
    raise ConnectionInvalid(
        "needs one of kubernetes, appRole or token", where=connection.where, field="spec.auth"
    )


def _approle(spec: Mapping[str, Any], credentials: Credentials) -> AppRoleAuth:
    return AppRoleAuth(
        role_id=str(spec.get("roleId") or ""),
        secret_id=credentials.read(spec.get("secretRef"), "auth.appRole.secretRef"),
        mount_path=str(spec.get("mountPath") or "approle"),
    )


def _kubernetes(
    spec: Mapping[str, Any], connection: Connection, tokens: TenantTokens, *, tenant: str
) -> KubernetesAuth:
    service_account = connection_name(
        SERVICE_ACCOUNTS,
        spec.get("serviceAccountName") or "default",
        field="spec.auth.kubernetes.serviceAccountName",
        where=connection.where,
    )
    audience = str(spec.get("audience") or "vault")
    return KubernetesAuth(
        role=str(spec.get("role") or ""),
        mount_path=str(spec.get("mountPath") or "kubernetes"),
        jwt_source=tokens.source(tenant, service_account, audience, where=connection.where),
    )


def _auth_spec(connection: Connection) -> Mapping[str, Any]:
    return connection.spec.get("auth") or {}
