"""From a VaultSecret's ``connectionRef`` to a Vault resolver, enforcing tenant isolation.

A VaultSecret may use a VaultConnection of its own namespace, or a ClusterVaultConnection whose
``allowedNamespaces`` (exact names or globs like ``team-*``) include its namespace; nothing else.
The allowed-namespaces check runs on every call, before any cached resolver is looked up.
Credentials referenced by a VaultConnection come from its own namespace; those of a
ClusterVaultConnection from the controller's namespace, so tenants cannot read each other's.
Every name read from these objects is checked with :func:`sealer.kube.check_name` where it is
read, so a bad one is refused naming its field, and no name can point into another namespace.
A message never says what exists outside the tenant's namespace: a ClusterVaultConnection that
does not exist and one that does not allow the namespace get the same answer.

Kubernetes auth never asks for a token with the API server's own audience (such a token would let
whoever runs the Vault address act as the ServiceAccount against the API): the audiences are the
configured ones (``--api-audience``) plus the ``aud`` claim of one TokenRequest made without
audiences (what the API server itself accepts), learned once per process. Until it is learned, no
token is requested at all (fail closed: any audience might be the API server's).

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
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sealer.errors import SealopsError
from sealer.kube import SECRETS, Kube, KubeError, KubeNotFound, ResourceRef, check_name
from sealer.secretdata import SecretDataError, decode_value
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
    "DEFAULT_API_AUDIENCES",
    "SERVICE_ACCOUNTS",
    "VAULT_CONNECTIONS",
    "ConnectionForbidden",
    "ConnectionInvalid",
    "Connections",
]

VAULT_CONNECTIONS = ResourceRef("sealops.dev", "v1alpha1", "vaultconnections")
CLUSTER_VAULT_CONNECTIONS = ResourceRef(
    "sealops.dev", "v1alpha1", "clustervaultconnections", namespaced=False
)
SERVICE_ACCOUNTS = ResourceRef("", "v1", "serviceaccounts")
_TOKEN_SECONDS = 600
#: The audiences API servers commonly accept (the in-cluster Service's names, with and without the
#: scheme and the cluster domain); the real one is learned too (see the module doc).
DEFAULT_API_AUDIENCES = (
    "https://kubernetes.default.svc",
    "https://kubernetes.default.svc.cluster.local",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "https://kubernetes.default",
    "kubernetes.default",
    "https://kubernetes",
    "kubernetes",
)


class ConnectionInvalid(SealopsError):
    reason = "InvalidSpec"


class ConnectionForbidden(SealopsError):
    reason = "Forbidden"


class AudiencesUnknown(ConnectionForbidden):
    """No token is requested while the API server's own audiences are unknown; retried."""

    retryable = True


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
        api_audiences: Iterable[str] = DEFAULT_API_AUDIENCES,
    ):
        self.kube = kube
        self.controller_namespace = controller_namespace
        self.factory = factory
        self.counter = counter
        self._lock = threading.Lock()
        self._resolvers: dict[_Key, Resolver] = {}
        self._api_audiences = {_audience_key(a) for a in api_audiences}
        self._audiences_learned = False

    def resolver_for(
        self, namespace: str, connection_ref: Mapping[str, Any], *, max_age: float
    ) -> Resolver:
        kind = str(connection_ref.get("kind") or "VaultConnection")
        name = connection_ref.get("name")
        field = "spec.connectionRef"
        if connection_ref.get("namespace") not in (None, "", namespace):
            raise ConnectionInvalid(
                "a connection is always looked up in the VaultSecret's own namespace (or, for a "
                "ClusterVaultConnection, through its allowedNamespaces): remove it",
                field=f"{field}.namespace",
            )
        if kind == "VaultConnection":
            name = check_name(VAULT_CONNECTIONS, name, field=f"{field}.name")
            conn = self._get(VAULT_CONNECTIONS, namespace, name, kind)
            secrets_namespace = namespace
            conn_where = f"{kind} {namespace}/{name}"
        elif kind == "ClusterVaultConnection":
            name = check_name(CLUSTER_VAULT_CONNECTIONS, name, field=f"{field}.name")
            conn = self._cluster_connection(name, namespace)
            secrets_namespace = self.controller_namespace
            conn_where = f"{kind} {name}"
        else:
            raise ConnectionInvalid(
                f"must be VaultConnection or ClusterVaultConnection, not {kind[:64]!a}",
                field=f"{field}.kind",
            )
        spec = conn.get("spec") or {}
        auth_spec = spec.get("auth") or {}
        credential_versions: list[str] = []
        cluster_wide = kind == "ClusterVaultConnection"

        def secret_value(ref: Mapping[str, Any] | None, what: str) -> str:
            ref = ref or {}
            key = str(ref.get("key") or "")
            what = f"spec.{what}"
            if not ref.get("name") or not key:
                raise ConnectionInvalid("needs name and key", where=conn_where, field=what)
            secret_name = check_name(
                SECRETS, ref.get("name"), field=f"{what}.name", where=conn_where
            )
            # A ClusterVaultConnection's Secrets are the cluster admin's, in the controller's
            # namespace: the tenant using it is told that one is wrong, never its name.
            shown = "its Secret" if cluster_wide else f"Secret {secrets_namespace}/{secret_name}"
            try:
                secret = self.kube.get(SECRETS, secrets_namespace, secret_name)
            except KubeNotFound:
                raise ConnectionInvalid(
                    f"{shown} not found", where=conn_where, field=what
                ) from None
            credential_versions.append(str((secret.get("metadata") or {}).get("resourceVersion")))
            raw = (secret.get("data") or {}).get(key)
            if raw is None:
                raise ConnectionInvalid(
                    f"{shown} has no key {key[:64]!a}", where=conn_where, field=what
                )
            try:
                return decode_value(raw, key=key).decode().strip()
            except (SecretDataError, UnicodeDecodeError):
                raise ConnectionInvalid(
                    f"{shown} key {key[:64]!a} is not text", where=conn_where, field=what
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
            service_account = check_name(
                SERVICE_ACCOUNTS,
                k8s.get("serviceAccountName") or "default",
                field="spec.auth.kubernetes.serviceAccountName",
                where=conn_where,
            )
            audience = str(k8s.get("audience") or "vault")
            self._check_audience(audience, namespace, service_account, where=conn_where)

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
                "needs one of kubernetes, appRole or token", where=conn_where, field="spec.auth"
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
            raise exc.located(where=conn_where) from None
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

    def _cluster_connection(self, name: str, namespace: str) -> dict[str, Any]:
        """The ClusterVaultConnection, if it allows ``namespace``; asked on every sync.

        Missing and not allowed read the same, so a tenant cannot learn which exist.
        """
        refused = ConnectionForbidden(
            f"ClusterVaultConnection {name} does not exist or does not allow namespace "
            f"{namespace} (its spec.allowedNamespaces)",
            field="spec.connectionRef",
        )
        try:
            conn = self.kube.get(CLUSTER_VAULT_CONNECTIONS, None, name)
        except KubeNotFound:
            raise refused from None
        allowed = (conn.get("spec") or {}).get("allowedNamespaces") or []
        if not isinstance(allowed, list) or not any(
            isinstance(p, str) and fnmatch.fnmatchcase(namespace, p) for p in allowed
        ):
            raise refused
        return conn

    def _check_audience(
        self, audience: str, namespace: str, service_account: str, *, where: str
    ) -> None:
        """Refuse the API server's own audience (see the module doc)."""
        if not self._learn_audiences(namespace, service_account):
            # Fail closed: without the API server's own audiences, any audience may be one.
            raise AudiencesUnknown(
                "cannot tell the Kubernetes API server's audiences yet (a TokenRequest without "
                f"audiences for ServiceAccount {namespace}/{service_account[:80]} failed): no "
                "token is requested until it can",
                where=where,
                field="spec.auth.kubernetes.serviceAccountName",
            )
        with self._lock:
            refused = _audience_key(audience) in self._api_audiences
        if refused:
            raise ConnectionInvalid(
                f"{audience[:80]!a} is an audience of the Kubernetes API server: a token for "
                "it would let the Vault address act as the ServiceAccount; use Vault's own (the "
                "default, vault)",
                where=where,
                field="spec.auth.kubernetes.audience",
            )

    def _learn_audiences(self, namespace: str, service_account: str) -> bool:
        """Once per process: the ``aud`` of a token the API server makes for itself.

        False while it could not be learned (the next sync tries again).
        """
        with self._lock:
            if self._audiences_learned:
                return True
        try:
            token = self.kube.request_token(
                namespace, service_account, audiences=[], seconds=_TOKEN_SECONDS
            )
        except KubeNotFound:
            raise  # no such ServiceAccount here: the login could not happen either
        except KubeError:
            return False
        learned = _token_audiences(token)
        del token  # never kept, logged or sent
        if learned is None:
            return False
        with self._lock:
            self._api_audiences |= {_audience_key(a) for a in learned}
            self._audiences_learned = True
        return True


def _audience_key(audience: str) -> str:
    return audience.strip().rstrip("/").lower()


def _token_audiences(token: str) -> list[str] | None:
    """The ``aud`` claim of a compact JWS (not verified: it comes from the API server), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    aud = claims.get("aud") if isinstance(claims, dict) else None
    if isinstance(aud, str):
        aud = [aud]
    if not isinstance(aud, list) or not aud or not all(isinstance(a, str) for a in aud):
        return None
    return list(aud)
