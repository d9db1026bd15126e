"""From a VaultSecret's ``connectionRef`` to a Vault resolver, enforcing tenant isolation.

A VaultSecret may use a VaultConnection of its own namespace, or a ClusterVaultConnection whose
``allowedNamespaces`` (exact names or globs like ``team-*``) include its namespace; nothing else.
Credentials referenced by a VaultConnection come from its own namespace; those of a
ClusterVaultConnection from the controller's namespace, so tenants cannot read each other's.

With Kubernetes auth the controller logs in as the VaultSecret's own namespace's ServiceAccount
(a TokenRequest), so Vault policies apply per tenant; hence one resolver per (connection,
tenant namespace). Resolvers are cached until the connection or a credential Secret changes, and
each is wrapped in a :class:`~sealer.vault.ReadCache` so a refresh window reads each distinct
secret once.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sealer.errors import SealopsError
from sealer.kube import SECRETS, Kube, KubeNotFound, ResourceRef
from sealer.vault import (
    AppRoleAuth,
    Auth,
    KubernetesAuth,
    ReadCache,
    RequestCounter,
    Resolver,
    TokenAuth,
    VaultConfig,
    kv_version_from_spec,
)

__all__ = [
    "CLUSTER_VAULT_CONNECTIONS",
    "VAULT_CONNECTIONS",
    "ConnectionForbidden",
    "ConnectionInvalid",
    "Connections",
]

VAULT_CONNECTIONS = ResourceRef("sealops.dev", "v1alpha1", "vaultconnections")
CLUSTER_VAULT_CONNECTIONS = ResourceRef(
    "sealops.dev", "v1alpha1", "clustervaultconnections", namespaced=False
)
_TOKEN_SECONDS = 600


class ConnectionInvalid(SealopsError):
    reason = "InvalidSpec"


class ConnectionForbidden(SealopsError):
    reason = "Forbidden"


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


class Connections:
    """Resolvers per connection and tenant. Thread-safe."""

    def __init__(
        self,
        *,
        kube: Kube,
        controller_namespace: str,
        factory: ResolverFactory,
        counter: RequestCounter,
    ):
        self.kube = kube
        self.controller_namespace = controller_namespace
        self.factory = factory
        self.counter = counter
        self._lock = threading.Lock()
        self._resolvers: dict[_Key, Resolver] = {}

    def resolver_for(
        self, namespace: str, connection_ref: Mapping[str, Any], *, max_age: float
    ) -> Resolver:
        kind = str(connection_ref.get("kind") or "VaultConnection")
        name = str(connection_ref.get("name") or "")
        field = "spec.connectionRef"
        if not name:
            raise ConnectionInvalid("name is required", field=f"{field}.name")
        if kind == "VaultConnection":
            conn = self._get(VAULT_CONNECTIONS, namespace, name, kind)
            secrets_namespace = namespace
        elif kind == "ClusterVaultConnection":
            conn = self._get(CLUSTER_VAULT_CONNECTIONS, None, name, kind)
            allowed = (conn.get("spec") or {}).get("allowedNamespaces") or []
            if not any(fnmatch.fnmatchcase(namespace, str(p)) for p in allowed):
                raise ConnectionForbidden(
                    f"ClusterVaultConnection {name} does not allow namespace {namespace} "
                    "(spec.allowedNamespaces)",
                    field=field,
                )
            secrets_namespace = self.controller_namespace
        else:
            raise ConnectionInvalid(
                f"kind must be VaultConnection or ClusterVaultConnection, not {kind!r}",
                field=f"{field}.kind",
            )
        spec = conn.get("spec") or {}
        auth_spec = spec.get("auth") or {}
        credential_versions: list[str] = []

        def secret_value(ref: Mapping[str, Any] | None, what: str) -> str:
            ref = ref or {}
            secret_name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
            where = f"{kind} {name}: {what}"
            if not secret_name or not key:
                raise ConnectionInvalid("needs name and key", where=where)
            try:
                secret = self.kube.get(SECRETS, secrets_namespace, secret_name)
            except KubeNotFound:
                raise ConnectionInvalid(
                    f"Secret {secrets_namespace}/{secret_name} not found", where=where
                ) from None
            credential_versions.append(str((secret.get("metadata") or {}).get("resourceVersion")))
            raw = (secret.get("data") or {}).get(key)
            if raw is None:
                raise ConnectionInvalid(
                    f"Secret {secrets_namespace}/{secret_name} has no key {key!r}", where=where
                )
            try:
                return base64.b64decode(raw).decode().strip()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise ConnectionInvalid(
                    f"Secret {secrets_namespace}/{secret_name} key {key!r} is not text", where=where
                ) from None

        auth: Auth
        if "token" in auth_spec:
            auth = TokenAuth(
                token=secret_value(
                    (auth_spec["token"] or {}).get("secretRef"), "auth.token.secretRef"
                )
            )
        elif "appRole" in auth_spec:
            approle = auth_spec["appRole"] or {}
            auth = AppRoleAuth(
                role_id=str(approle.get("roleId") or ""),
                secret_id=secret_value(approle.get("secretRef"), "auth.appRole.secretRef"),
                mount_path=str(approle.get("mountPath") or "approle"),
            )
        elif "kubernetes" in auth_spec:
            k8s = auth_spec["kubernetes"] or {}
            service_account = str(k8s.get("serviceAccountName") or "default")
            audience = str(k8s.get("audience") or "vault")

            def jwt() -> str:
                return self.kube.request_token(
                    namespace, service_account, audiences=[audience], seconds=_TOKEN_SECONDS
                )

            auth = KubernetesAuth(
                role=str(k8s.get("role") or ""),
                mount_path=str(k8s.get("mountPath") or "kubernetes"),
                jwt_source=jwt,
            )
        else:
            raise ConnectionInvalid(
                "needs one of kubernetes, appRole or token",
                where=f"{kind} {name}",
                field="spec.auth",
            )
        ca_pem = None
        if spec.get("caSecretRef"):
            ca_pem = secret_value(spec["caSecretRef"], "caSecretRef")
        key = _Key(
            kind=kind,
            namespace=namespace if kind == "VaultConnection" else "",
            name=name,
            version=str((conn.get("metadata") or {}).get("resourceVersion")),
            tenant=namespace if "kubernetes" in auth_spec else "",
            credentials=",".join(credential_versions),
            max_age=max_age,
        )
        with self._lock:
            cached = self._resolvers.get(key)
        if cached is not None:
            return cached
        try:
            config = VaultConfig(
                address=str(spec.get("address") or ""),
                auth=auth,
                namespace=spec.get("namespace") or None,
                ca_pem=ca_pem,
                kv_version=kv_version_from_spec(spec.get("kvVersion")),
            )
        except SealopsError as exc:
            raise exc.located(where=f"{kind} {name}") from None
        stale: list[Resolver] = []
        with self._lock:
            # Threads syncing VaultSecrets of one connection at once all get here on the first
            # sync: exactly one makes the resolver (no I/O: hvac logs in on the first read), the
            # others share it, its token and its ReadCache.
            cached = self._resolvers.get(key)
            if cached is not None:
                return cached
            # Drop resolvers of older versions of this connection (their tokens go with them).
            for old in [
                k
                for k in self._resolvers
                if k != key
                and (k.kind, k.namespace, k.name, k.tenant, k.max_age)
                == (key.kind, key.namespace, key.name, key.tenant, key.max_age)
            ]:
                stale.append(self._resolvers.pop(old))
            resolver: Resolver = ReadCache(self.factory(config), max_age=max_age)
            self._resolvers[key] = resolver
        for old_resolver in stale:
            close = getattr(getattr(old_resolver, "_resolver", None), "close", None)
            if callable(close):
                close()
        return resolver

    def forget(self) -> None:
        """Drop every resolver (and its cached reads): the next sync reads Vault afresh."""
        with self._lock:
            resolvers, self._resolvers = self._resolvers, {}
        for resolver in resolvers.values():
            close = getattr(getattr(resolver, "_resolver", None), "close", None)
            if callable(close):
                close()

    def _get(self, ref: ResourceRef, namespace: str | None, name: str, kind: str) -> dict[str, Any]:
        try:
            return self.kube.get(ref, namespace, name)
        except KubeNotFound:
            where = f"{namespace}/{name}" if namespace else name
            raise ConnectionInvalid(
                f"{kind} {where} not found", field="spec.connectionRef"
            ) from None
