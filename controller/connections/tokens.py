"""ServiceAccount tokens for Kubernetes auth: the tenant's own, never for the API server itself.

With Kubernetes auth the controller logs in as the VaultSecret's own namespace's ServiceAccount
(a TokenRequest at every login), so Vault policies apply per tenant. It never asks for a token
with the API server's own audience (such a token would let whoever runs the Vault address act as
the ServiceAccount against the API): the refused audiences are the configured ones
(``--api-audience``) plus the ``aud`` claim of one TokenRequest made without audiences (what the
API server itself accepts), learned once per process. Until it is learned, no token is requested
at all (fail closed: any audience might be the API server's).

A ServiceAccount the namespace does not have is :class:`ServiceAccountMissing` (``InvalidSpec``,
retried), whether the learning request or a login's finds it missing.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterable

from controller.connections.errors import (
    AudiencesUnknown,
    ConnectionInvalid,
    ServiceAccountMissing,
)
from sealer.kube import Kube, KubeError, KubeNotFound
from sealer.vault import JwtSource

__all__ = ["DEFAULT_API_AUDIENCES", "TenantTokens"]

_FIELD = "spec.auth.kubernetes"
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


class TenantTokens:
    """JWT sources for tenants' ServiceAccounts, and the audiences refused to them. Thread-safe."""

    def __init__(self, kube: Kube, api_audiences: Iterable[str] = DEFAULT_API_AUDIENCES) -> None:
        self._kube = kube
        self._lock = threading.Lock()
        self._api_audiences = {_audience_key(a) for a in api_audiences}
        self._learned = False

    def source(
        self, namespace: str, service_account: str, audience: str, *, where: str
    ) -> JwtSource:
        """A JWT source for ``namespace/service_account``, once ``audience`` is known to be safe."""
        self._check_audience(audience, namespace, service_account, where=where)

        def jwt() -> str:
            try:
                return self._kube.request_token(
                    namespace, service_account, audiences=[audience], seconds=_TOKEN_SECONDS
                )
            except KubeNotFound:
                raise _missing(namespace, service_account, where=where) from None

        return jwt

    def _check_audience(
        self, audience: str, namespace: str, service_account: str, *, where: str
    ) -> None:
        if not self._learn(namespace, service_account, where=where):
            # Fail closed: without the API server's own audiences, any audience may be one.
            raise AudiencesUnknown(
                "cannot tell the Kubernetes API server's audiences yet (a TokenRequest without "
                f"audiences for ServiceAccount {namespace}/{service_account[:80]} failed): no "
                "token is requested until it can",
                where=where,
                field=f"{_FIELD}.serviceAccountName",
            )
        with self._lock:
            refused = _audience_key(audience) in self._api_audiences
        if refused:
            raise ConnectionInvalid(
                f"{audience[:80]!a} is an audience of the Kubernetes API server: a token for "
                "it would let the Vault address act as the ServiceAccount; use Vault's own (the "
                "default, vault)",
                where=where,
                field=f"{_FIELD}.audience",
            )

    def _learn(self, namespace: str, service_account: str, *, where: str) -> bool:
        """Once per process: the ``aud`` of a token the API server makes for itself.

        False while it could not be learned (the next sync tries again).
        """
        with self._lock:
            if self._learned:
                return True
        try:
            token = self._kube.request_token(
                namespace, service_account, audiences=[], seconds=_TOKEN_SECONDS
            )
        except KubeNotFound:
            # No such ServiceAccount here: the login could not happen either.
            raise _missing(namespace, service_account, where=where) from None
        except KubeError:
            return False
        learned = _token_audiences(token)
        del token  # never kept, logged or sent
        if learned is None:
            return False
        with self._lock:
            self._api_audiences |= {_audience_key(a) for a in learned}
            self._learned = True
        return True


def _missing(namespace: str, service_account: str, *, where: str) -> ServiceAccountMissing:
    return ServiceAccountMissing(
        f"ServiceAccount {namespace}/{service_account[:80]} not found (Kubernetes auth logs in "
        "as it): create it or name another",
        where=where,
        field=f"{_FIELD}.serviceAccountName",
    )


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
