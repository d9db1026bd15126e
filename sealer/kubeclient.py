"""The one module that imports the official ``kubernetes`` client: :class:`KubeApi` and ``connect``.

Implements :class:`sealer.kube.Kube` over HTTP with plain dicts (``_preload_content=False``, so
no model classes), maps API errors to the :mod:`sealer.kube` error tree, and adds the service
proxy that the online ``seal`` commands use to reach the controller. Thread-safe: one pool.

Every request names its sender in ``User-Agent`` (``seal/<version>`` unless the caller gives
another: the controller names its replica), and every write (POST, PUT, PATCH) carries a
``fieldManager``, so the API server's ``managedFields`` and audit log, and the emulator's write
record, say who wrote what.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from sealer.api import SERVICE_ACCOUNTS, SERVICES
from sealer.kube import (
    InvalidName,
    KubeConflict,
    KubeError,
    KubeInvalid,
    KubeNotFound,
    KubeUnavailable,
    ResourceRef,
    check_label_selector,
    check_name,
    check_namespace,
)
from sealer.version import __version__

__all__ = ["FIELD_MANAGER", "USER_AGENT", "KubeApi", "connect"]

_TIMEOUT = 30.0
#: The ``seal`` CLI's names; the controller passes its own to :func:`connect`.
USER_AGENT = f"seal/{__version__}"
FIELD_MANAGER = "seal"
_WRITES = ("POST", "PUT", "PATCH")


class KubeApi:
    """:class:`sealer.kube.Kube` over HTTP with the official client.

    ``field_manager`` goes with every POST, PUT and PATCH (not through the service proxy, whose
    requests are the controller's, not the API server's).
    """

    def __init__(self, api_client: Any, *, field_manager: str = FIELD_MANAGER):
        self._client = api_client
        self.field_manager = field_manager

    # -- generic verbs ------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Sequence[tuple[str, str]] = (),
        content_type: str = "application/json",
        accept: str = "application/json",
        what: str,
        limit: int | None = None,
        headers_out: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One request; returns (status, body) for any HTTP status, raises only if unreachable.

        With ``limit``, at most ``limit + 1`` bytes of the body are read (the caller refuses more).
        ``headers_out``, when given, is filled with the answer's headers.
        """
        request = self._client.param_serialize(
            method,
            path,
            query_params=list(query),
            header_params={"Accept": accept, "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._client.call_api(*request, _request_timeout=_TIMEOUT)
            data = response.read() if limit is None else response.response.read(limit + 1)
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as exc:
            host = getattr(self._client.configuration, "host", "")
            raise KubeUnavailable(
                f"cannot reach the Kubernetes API at {host}: {_why(exc)}", where=what
            ) from exc
        if headers_out is not None:
            headers_out.update((str(k), str(v)) for k, v in (response.headers or {}).items())
        return int(response.status), bytes(data or b"")

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Sequence[tuple[str, str]] = (),
        content_type: str = "application/json",
        what: str,
    ) -> Any:
        if method in _WRITES and self.field_manager:
            query = [*query, ("fieldManager", self.field_manager)]
        status, raw = self._send(
            method, path, body=body, query=query, content_type=content_type, what=what
        )
        if not 200 <= status < 300:
            raise _api_error(status, raw, what)
        return json.loads(raw) if raw else {}

    # Each verb builds its path first (checking every name), then says what it does from the
    # checked values: an error message never quotes a name the API server would refuse.

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
        path = ref.item_path(namespace, name)
        return dict(self._call("GET", path, what=_what("get", ref, namespace, name)))

    def list(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        path = ref.path(namespace)
        selector = check_label_selector(label_selector)
        query = [("labelSelector", selector)] if selector else []
        body = self._call("GET", path, query=query, what=_what("list", ref, namespace, ""))
        return list(body.get("items") or [])

    def create(
        self, ref: ResourceRef, namespace: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        if ref.namespaced:
            check_namespace(namespace)  # a create is never cluster-wide for a namespaced kind
        path = ref.path(namespace)
        meta = body.get("metadata") or {}
        name = meta.get("name") if isinstance(meta, Mapping) else None
        if name is not None or not (isinstance(meta, Mapping) and meta.get("generateName")):
            name = check_name(ref, name)
        what = _what("create", ref, namespace, str(name or ""))
        return dict(self._call("POST", path, body=dict(body), what=what))

    def replace(
        self, ref: ResourceRef, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        path = ref.item_path(namespace, name)
        what = _what("update", ref, namespace, name)
        return dict(self._call("PUT", path, body=dict(body), what=what))

    def patch(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        path = ref.item_path(namespace, name, subresource)
        what = _what("patch", ref, namespace, name) + (f" ({subresource})" if subresource else "")
        return dict(
            self._call(
                "PATCH",
                path,
                body=dict(body),
                content_type="application/merge-patch+json",
                what=what,
            )
        )

    def request_token(
        self, namespace: str, service_account: str, *, audiences: Sequence[str], seconds: int
    ) -> str:
        path = SERVICE_ACCOUNTS.item_path(namespace, service_account, "token")
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": list(audiences), "expirationSeconds": seconds},
        }
        what = f"request token for ServiceAccount {namespace}/{service_account}"
        answer = self._call("POST", path, body=body, what=what)
        token = (answer.get("status") or {}).get("token")
        if not token:
            raise KubeError("the API returned no token", where=what)
        return str(token)

    # -- service proxy (seal -> controller) -----------------------------------------------------

    def proxy(
        self,
        *,
        namespace: str,
        service: str,
        path: str,
        method: str = "GET",
        body: Any = None,
        limit: int | None = None,
        headers_out: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """A request to ``service`` through the API server's service proxy: (status, body).

        With ``limit``, at most ``limit + 1`` bytes of the answer are read; the caller refuses
        a longer one. ``headers_out``, when given, is filled with the answer's headers (the
        controller's Retry-After, passed through by the proxy).

        ``body`` is sent as JSON. A 404 that is a Kubernetes ``Status`` means the Service (or
        its proxy) is missing, not the controller's endpoint: that becomes :class:`KubeNotFound`.
        """
        url = (
            f"{SERVICES.path(check_namespace(namespace, field='namespace'))}"
            f"/{_proxy_target(service)}/proxy/{_proxy_path(path)}"
        )
        what = f"{method} {path} on service {namespace}/{service}"
        status, raw = self._send(
            method, url, body=body, accept="*/*", what=what, limit=limit, headers_out=headers_out
        )
        if status in (502, 503):
            raise KubeUnavailable(f"the controller is not reachable ({status})", where=what)
        if status == 404 and _is_k8s_status(raw):
            raise KubeNotFound(
                "service not found: is the controller installed there? "
                "(--controller-namespace, --controller-name)",
                where=what,
                status=404,
            )
        return status, raw


_PROXY_SCHEMES = ("http", "https")
# A Service port: a number, or an IANA service name (lower-case letters, digits, '-').
_PORT = re.compile(r"[0-9]{1,5}|[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?")
_PROXY_SEGMENT = re.compile(r"[A-Za-z0-9._~-]{1,255}")


def _proxy_target(service: object) -> str:
    """``[scheme:]name[:port]`` with each part checked, so it is one URL segment."""
    if not isinstance(service, str):
        raise InvalidName("must be a non-empty string", field="service")
    parts = service.split(":")
    if len(parts) > 1 and parts[0] in _PROXY_SCHEMES:
        parts.pop(0)
    if len(parts) > 2 or (len(parts) == 2 and not _PORT.fullmatch(parts[1])):
        shown = ascii(service[:64]) + ("..." if len(service) > 64 else "")
        raise InvalidName(f"{shown} is not [scheme:]name[:port]", field="service")
    check_name(SERVICES, parts[0], field="service")
    return quote(service, safe=":")


def _proxy_path(path: str) -> str:
    """The controller endpoint's path (code-chosen, e.g. ``/v1/cert.pem``), segment by segment:
    no ``.``/``..``, no query, nothing to escape."""
    segments = path.lstrip("/").split("/")
    for segment in segments:
        if segment in (".", "..") or not _PROXY_SEGMENT.fullmatch(segment):
            raise ValueError(f"not a controller path: {path!r}")
    return "/".join(segments)


def _why(exc: BaseException) -> str:
    """A short cause for a connection failure (urllib3's own text names object addresses)."""
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "Connection refused" in text:  # before the timeout check: urllib3 files it under timeouts
        return "connection refused"
    if isinstance(reason, urllib3.exceptions.TimeoutError) or "timed out" in text:
        return "timed out"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "unknown host"
    return type(reason).__name__


def _is_k8s_status(body: Any) -> bool:
    try:
        return bool(json.loads(body).get("kind") == "Status")
    except (TypeError, ValueError, AttributeError):
        return False


def _what(verb: str, ref: ResourceRef, namespace: str | None, name: str) -> str:
    target = f"{namespace}/{name}" if namespace and name else (name or namespace or "")
    return f"{verb} {ref.plural} {target}".rstrip()


def _api_error(status: int, raw: bytes, what: str) -> KubeError:
    reason = ""
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        reason = str(json.loads(raw).get("message") or "")
    kind: type[KubeError] = KubeError
    if status == 404:
        kind = KubeNotFound
    elif status == 409:
        kind = KubeConflict
    elif status == 422:
        kind = KubeInvalid
    elif status == 429 or status >= 500:
        kind = KubeUnavailable
    return kind(f"{status} {reason}".strip(), where=what, status=status)


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    user_agent: str = USER_AGENT,
    field_manager: str = FIELD_MANAGER,
) -> KubeApi:
    """A client from a kubeconfig (``KUBECONFIG``/``~/.kube/config``) or in-cluster config,
    sending ``user_agent`` with every request and ``field_manager`` with every write."""
    try:
        explicit = kubeconfig or context or os.environ.get("KUBECONFIG")
        if not explicit and not Path("~/.kube/config").expanduser().exists():
            configuration = kubernetes.client.Configuration()
            kubernetes.config.load_incluster_config(client_configuration=configuration)
            api_client = kubernetes.client.ApiClient(configuration)
        else:
            api_client = kubernetes.config.new_client_from_config(
                config_file=kubeconfig, context=context
            )
    except (kubernetes.config.ConfigException, OSError, ValueError) as exc:
        raise KubeError(f"cannot load Kubernetes configuration: {exc}") from None
    api_client.user_agent = user_agent
    return KubeApi(api_client, field_manager=field_manager)
