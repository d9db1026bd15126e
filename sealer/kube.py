"""The narrow interface sealops uses to talk to the Kubernetes API, and its error tree.

Pure types: no client library here. :mod:`sealer.kubeclient` implements :class:`Kube` over HTTP
with the official ``kubernetes`` client (the only module that imports it); unit tests use a
hand-written in-memory fake. Callers: the controller and the online ``seal`` commands.

    KubeError                (SealopsError)
    ├── KubeNotFound         404
    ├── KubeConflict         409 (AlreadyExists, stale resourceVersion)
    ├── KubeInvalid          422 (schema or immutability)
    └── KubeUnavailable      connection failures, 429, 5xx: retryable
    InvalidName              (ManifestError) a name or namespace the API server would refuse

Messages carry the verb, the object and the API's own reason; never a request body.

**Names from users.** Every name and namespace that reaches a URL goes through
:meth:`ResourceRef.path`, the one request builder: it checks each against the rule the API
server applies to that kind (a DNS-1123 label for namespaces, a DNS-1123 subdomain for most
kinds, a DNS-1035 label for Services) and percent-encodes every segment, so no value taken from a
user's object can add a segment (``../``, ``/``, ``%2e%2e``) and walk to another namespace.
Callers that know which field a name came from call :func:`check_name` / :func:`check_namespace`
first, so the refusal names that field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

from sealer.errors import ManifestError, SealopsError
from sealer.reasons import Reason

__all__ = [
    "InvalidName",
    "Kube",
    "KubeConflict",
    "KubeError",
    "KubeInvalid",
    "KubeNotFound",
    "KubeUnavailable",
    "NameRule",
    "ResourceRef",
    "check_label_selector",
    "check_name",
    "check_namespace",
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
    reason: str = Reason.KUBERNETES_UNAVAILABLE
    retryable = True


class InvalidName(ManifestError):
    """A name or namespace the API server would refuse: never sent, never retried."""

    reason: str = Reason.INVALID_SPEC


#: How the API server validates a kind's names (k8s.io/apimachinery/pkg/util/validation):
#: ``subdomain`` is IsDNS1123Subdomain (most kinds, custom resources included), ``label`` is
#: IsDNS1123Label (namespaces), ``dns1035`` is IsDNS1035Label (Services).
NameRule = Literal["subdomain", "label", "dns1035"]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_PATTERNS: dict[str, tuple[re.Pattern[str], int, str]] = {
    "subdomain": (
        re.compile(rf"{_LABEL}(\.{_LABEL})*"),
        253,
        "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', "
        "starting and ending with a letter or digit)",
    ),
    "label": (
        re.compile(_LABEL),
        63,
        "a DNS-1123 label (lower-case letters, digits and '-', "
        "starting and ending with a letter or digit)",
    ),
    "dns1035": (
        re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?"),
        63,
        "a DNS-1035 label (lower-case letters, digits and '-', "
        "starting with a letter and ending with a letter or digit)",
    ),
}


_SHOWN = 64  # at most this many characters of a refused name are quoted back


def _check(value: object, rule: str, *, field: str, where: str | None) -> str:
    pattern, limit, words = _PATTERNS[rule]
    if not isinstance(value, str) or not value:
        raise InvalidName("must be a non-empty string", where=where, field=field)
    # The length first: the pattern never runs over more than ``limit`` characters.
    if len(value) > limit or not pattern.fullmatch(value):
        # The value is a name, not a secret, but it is the user's text: show it escaped and short.
        shown = ascii(value[:_SHOWN]) + ("..." if len(value) > _SHOWN else "")
        raise InvalidName(
            f"{shown} is not a valid name: must be {words}, at most {limit} characters",
            where=where,
            field=field,
        )
    return value


def check_name(
    ref: ResourceRef, name: object, *, field: str = "metadata.name", where: str | None = None
) -> str:
    """``name`` if the API server would accept it for ``ref``'s kind, else :class:`InvalidName`."""
    return _check(name, ref.name_rule, field=field, where=where)


def check_namespace(
    namespace: object, *, field: str = "metadata.namespace", where: str | None = None
) -> str:
    """``namespace`` if it is a valid namespace (a DNS-1123 label), else :class:`InvalidName`."""
    return _check(namespace, "label", field=field, where=where)


# Every character a label selector can hold (keys, values, operators, set syntax); nothing that
# could end the query parameter or the request line, even before the client escapes it.
_SELECTOR = re.compile(r"[A-Za-z0-9 ._/=!,()-]*")
_SELECTOR_LIMIT = 4096


def check_label_selector(selector: object, *, field: str = "labelSelector") -> str:
    """``selector`` if it is made only of label-selector characters, else :class:`InvalidName`."""
    if not isinstance(selector, str):
        raise InvalidName("must be a string", field=field)
    if len(selector) > _SELECTOR_LIMIT or not _SELECTOR.fullmatch(selector):
        shown = ascii(selector[:_SHOWN]) + ("..." if len(selector) > _SHOWN else "")
        raise InvalidName(f"{shown} is not a label selector", field=field)
    return selector


def _segment(value: str) -> str:
    # Defence in depth: a checked name has nothing to escape, but nothing reaches the URL raw.
    return quote(value, safe="")


@dataclass(frozen=True)
class ResourceRef:
    """Where a kind lives in the API: ``group`` is empty for the core group."""

    group: str
    version: str
    plural: str
    namespaced: bool = True
    name_rule: NameRule = "subdomain"

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        """The request path; the one place names and namespaces enter a URL (checked, escaped).

        ``name=None`` is the collection (list, create). For a namespaced kind ``namespace=None``
        is "all namespaces", and only for the collection: an object, or a subresource, always
        needs its namespace. ``""`` is refused wherever it appears, never taken for "all" or "the
        whole collection". A cluster-scoped kind takes no namespace. ``sub`` is a subresource the
        code chooses (``status``, ``token``), never user input.
        """
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced:
            if namespace is not None or name is not None or sub:
                base += f"/namespaces/{_segment(check_namespace(namespace))}"
        elif namespace is not None:
            raise InvalidName(
                f"{self.plural} are cluster-scoped: no namespace", field="metadata.namespace"
            )
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{_segment(check_name(self, name))}"
        if sub:
            if name is None or not re.fullmatch(r"[a-z]{1,32}", sub):
                raise ValueError(f"not a subresource: {sub!r}")
            base += f"/{sub}"
        return base

    def item_path(self, namespace: str | None, name: str, sub: str = "") -> str:
        """The path of one object (or its subresource): ``name`` is required, never the list."""
        return self.path(namespace, check_name(self, name), sub)


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
