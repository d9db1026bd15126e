"""One Vault resolver per (connection, tenant), cached until the connection or a credential changes.

:meth:`Connections.resolver_for` runs the steps in order: find the connection under the tenant
rule (:mod:`~controller.connections.lookup`), read its credentials
(:mod:`~controller.connections.credentials`), build its auth method
(:mod:`~controller.connections.auth`), then hand out the cached resolver or make one. Each is
wrapped in a :class:`~sealer.vault.ReadCache`, so a refresh window reads each distinct secret
once; a resolver of an older version of the same connection is closed (its token goes with it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.connections.auth import build_auth, logs_in_as_tenant
from controller.connections.check import LoginCheck, checked_connection, tenant_of
from controller.connections.credentials import Credentials
from controller.connections.lookup import Connection, find_connection
from controller.connections.tokens import DEFAULT_API_AUDIENCES, TenantTokens
from sealer.errors import SealopsError
from sealer.kube import Kube
from sealer.vault import (
    Auth,
    ReadCache,
    RequestCounter,
    Resolver,
    VaultConfig,
    VaultConfigError,
    kv_version_from_spec,
)

__all__ = ["Connections", "ResolverFactory"]

ResolverFactory = Callable[[VaultConfig], Resolver]


@dataclass(frozen=True)
class _Key:
    kind: str
    namespace: str
    name: str
    version: str  # the connection's resourceVersion
    tenant: str  # the VaultSecret's namespace (Kubernetes auth logs in as it)
    credentials: str  # resourceVersions of the credential Secrets
    max_age: float

    def same_identity(self, other: _Key) -> bool:
        """The same connection for the same tenant and window, maybe at another version."""
        return (self.kind, self.namespace, self.name, self.tenant, self.max_age) == (
            other.kind,
            other.namespace,
            other.name,
            other.tenant,
            other.max_age,
        )


class Connections:
    """Resolvers per connection and tenant. Thread-safe."""

    def __init__(
        self,
        *,
        kube: Kube,
        controller_namespace: str,
        factory: ResolverFactory,
        counter: RequestCounter,
        api_audiences: Iterable[str] = DEFAULT_API_AUDIENCES,
        login: LoginCheck | None = None,
    ):
        self.kube = kube
        self.login = login  # None: connections are not checked (their status says so)
        self.controller_namespace = controller_namespace
        self.factory = factory
        self.counter = counter
        self._lock = threading.Lock()
        self._resolvers: dict[_Key, Resolver] = {}
        self._tokens = TenantTokens(kube, api_audiences)

    def resolver_for(
        self, namespace: str, connection_ref: Mapping[str, Any], *, max_age: float
    ) -> Resolver:
        """The resolver a VaultSecret in ``namespace`` reads through; checked on every call."""
        conn = find_connection(
            self.kube, namespace, connection_ref, controller_namespace=self.controller_namespace
        )
        credentials = Credentials(self.kube, conn)
        auth = build_auth(conn, credentials, self._tokens, tenant=namespace)
        ca_ref = conn.spec.get("caSecretRef")
        ca_pem = credentials.read(ca_ref, "caSecretRef") if ca_ref else None
        key = _Key(
            kind=conn.kind,
            namespace=conn.namespace,
            name=conn.name,
            version=conn.version,
            tenant=namespace if logs_in_as_tenant(conn) else "",
            credentials=",".join(credentials.versions),
            max_age=max_age,
        )
        with self._lock:
            cached = self._resolvers.get(key)
        if cached is not None:
            return cached
        return self._install(key, _config(conn, auth, ca_pem))

    def check(self, kind: str, body: Mapping[str, Any]) -> str:
        """Log in as the (Cluster)VaultConnection ``body`` says, once, with a session of its own
        (:mod:`~controller.connections.check`); the tenant it logged in as ("" when the
        identity is the connection's own). Raises the error a VaultSecret's read would."""
        conn = checked_connection(kind, body, controller_namespace=self.controller_namespace)
        tenant = tenant_of(conn) if logs_in_as_tenant(conn) else ""
        credentials = Credentials(self.kube, conn)
        auth = build_auth(conn, credentials, self._tokens, tenant=tenant)
        ca_ref = conn.spec.get("caSecretRef")
        ca_pem = credentials.read(ca_ref, "caSecretRef") if ca_ref else None
        config = _config(conn, auth, ca_pem)
        if self.login is None:
            raise VaultConfigError(
                "the controller runs without connection checks", where=conn.where
            )
        try:
            self.login(config)
        except SealopsError as exc:
            raise exc.located(where=conn.where) from None
        return tenant

    def close(self) -> None:
        """Close and drop every resolver: the controller is stopping."""
        with self._lock:
            resolvers = list(self._resolvers.values())
            self._resolvers.clear()
        for resolver in resolvers:
            resolver.close()

    def _install(self, key: _Key, config: VaultConfig) -> Resolver:
        with self._lock:
            # Threads syncing VaultSecrets of one connection at once all get here on the first
            # sync: exactly one makes the resolver (no I/O: hvac logs in on the first read), the
            # others share it, its token and its ReadCache.
            cached = self._resolvers.get(key)
            if cached is not None:
                return cached
            stale = [k for k in self._resolvers if k != key and k.same_identity(key)]
            replaced = [self._resolvers.pop(k) for k in stale]
            resolver: Resolver = ReadCache(self.factory(config), max_age=key.max_age)
            self._resolvers[key] = resolver
        for old in replaced:
            old.close()
        return resolver


def _config(conn: Connection, auth: Auth, ca_pem: str | None) -> VaultConfig:
    spec = conn.spec
    try:
        return VaultConfig(
            address=str(spec.get("address") or ""),
            auth=auth,
            namespace=spec.get("namespace") or None,
            ca_pem=ca_pem,
            kv_version=kv_version_from_spec(spec.get("kvVersion")),
        )
    except SealopsError as exc:
        raise exc.located(where=conn.where) from None
