"""The narrow interface sealops uses to talk to the Kubernetes API, and its error tree.

Pure types: no client library here. :mod:`sealer.kubeclient` implements :class:`Kube` over HTTP
with the official ``kubernetes`` client (the only module that imports it); unit tests use a
hand-written in-memory fake. Callers: the controller and the online ``seal`` commands.

    KubeError                (SealopsError)
    ├── KubeNotFound         404
    ├── KubeConflict         409 (AlreadyExists, stale resourceVersion)
    ├── KubeInvalid          422 (schema or immutability)
    └── KubeUnavailable      connection failures, 429, 5xx: retryable

Messages carry the verb, the object and the API's own reason; never a request body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sealer.errors import SealopsError

__all__ = [
    "EVENTS",
    "SECRETS",
    "Kube",
    "KubeConflict",
    "KubeError",
    "KubeInvalid",
    "KubeNotFound",
    "KubeUnavailable",
    "ResourceRef",
]


class KubeError(SealopsError):
    reason = "KubernetesError"

    def __init__(self, message: str, *, where: str | None = None, status: int = 0):
        self.status = status
        super().__init__(message, where=where)


class KubeNotFound(KubeError):
    reason = "NotFound"


class KubeConflict(KubeError):
    reason = "Conflict"
    retryable = True


class KubeInvalid(KubeError):
    reason = "Invalid"


class KubeUnavailable(KubeError):
    reason = "KubernetesUnavailable"
    retryable = True


@dataclass(frozen=True)
class ResourceRef:
    """Where a kind lives in the API: ``group`` is empty for the core group."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


SECRETS = ResourceRef("", "v1", "secrets")
EVENTS = ResourceRef("", "v1", "events")


class Kube(Protocol):
    """What sealops needs from the API, as dicts. The real one is ``sealer.kubeclient.KubeApi``."""

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]: ...

    def list(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[dict[str, Any]]: ...

    def create(
        self, ref: ResourceRef, namespace: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def replace(
        self, ref: ResourceRef, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def patch(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]: ...

    def request_token(
        self, namespace: str, service_account: str, *, audiences: Sequence[str], seconds: int
    ) -> str: ...
