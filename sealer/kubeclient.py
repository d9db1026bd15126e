"""The one module that imports the official ``kubernetes`` client: :class:`KubeApi` and ``connect``.

Implements :class:`sealer.kube.Kube` over HTTP with plain dicts (``_preload_content=False``, so
no model classes), maps API errors to the :mod:`sealer.kube` error tree, and adds the service
proxy that the online ``seal`` commands use to reach the controller. Thread-safe: one pool.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from sealer.kube import (
    InvalidName,
    KubeConflict,
    KubeError,
    KubeInvalid,
    KubeNotFound,
    KubeUnavailable,
    ResourceRef,
    check_name,
)

__all__ = ["KubeApi", "connect"]

_TIMEOUT = 30.0


class KubeApi:
    """:class:`sealer.kube.Kube` over HTTP with the official client."""

    def __init__(self, api_client: Any):
        self._client = api_client

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
    ) -> tuple[int, bytes]:
        """One request; returns (status, body) for any HTTP status, raises only if unreachable.

        With ``limit``, at most ``limit + 1`` bytes of the body are read (the caller refuses more).
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
        status, raw = self._send(
            method, path, body=body, query=query, content_type=content_type, what=what
        )
        if not 200 <= status < 300:
            raise _api_error(status, raw, what)
        return json.loads(raw) if raw else {}

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
        what = _what("get", ref, namespace, name)
        return dict(self._call("GET", ref.path(namespace, name), what=what))

    def list(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else []
        what = _what("list", ref, namespace, "")
        body = self._call("GET", ref.path(namespace), query=query, what=what)
        return list(body.get("items") or [])

    def create(
        self, ref: ResourceRef, namespace: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = str((body.get("metadata") or {}).get("name", ""))
        what = _what("create", ref, namespace, name)
        return dict(self._call("POST", ref.path(namespace), body=dict(body), what=what))

    def replace(
        self, ref: ResourceRef, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        what = _what("update", ref, namespace, name)
        return dict(self._call("PUT", ref.path(namespace, name), body=dict(body), what=what))

    def patch(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        what = _what("patch", ref, namespace, name) + (f" ({subresource})" if subresource else "")
        return dict(
            self._call(
                "PATCH",
                ref.path(namespace, name, subresource),
                body=dict(body),
                content_type="application/merge-patch+json",
                what=what,
            )
        )

    def request_token(
        self, namespace: str, service_account: str, *, audiences: Sequence[str], seconds: int
    ) -> str:
        ref = ResourceRef("", "v1", "serviceaccounts")
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": list(audiences), "expirationSeconds": seconds},
        }
        what = f"request token for ServiceAccount {namespace}/{service_account}"
        answer = self._call(
            "POST", ref.path(namespace, service_account, "token"), body=body, what=what
        )
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
    ) -> tuple[int, bytes]:
        """A request to ``service`` through the API server's service proxy: (status, body).

        With ``limit``, at most ``limit + 1`` bytes of the answer are read; the caller refuses
        a longer one.

        ``body`` is sent as JSON. A 404 that is a Kubernetes ``Status`` means the Service (or
        its proxy) is missing, not the controller's endpoint: that becomes :class:`KubeNotFound`.
        """
        url = f"{SERVICES.path(namespace)}/{_proxy_target(service)}/proxy/{path.lstrip('/')}"
        what = f"{method} {path} on service {namespace}/{service}"
        status, raw = self._send(method, url, body=body, accept="*/*", what=what, limit=limit)
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


SERVICES = ResourceRef("", "v1", "services", name_rule="dns1035")
_PROXY_SCHEMES = ("http", "https")


def _proxy_target(service: str) -> str:
    """``[scheme:]name[:port]`` with each part checked, so it is one URL segment."""
    parts = service.split(":")
    if len(parts) > 1 and parts[0] in _PROXY_SCHEMES:
        parts.pop(0)
    if len(parts) > 2 or (len(parts) == 2 and not re.fullmatch(r"[a-z0-9-]{1,63}", parts[1])):
        raise InvalidName(f"{service!r} is not [scheme:]name[:port]", field="service")
    check_name(SERVICES, parts[0], field="service")
    return service


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


def connect(*, kubeconfig: str | None = None, context: str | None = None) -> KubeApi:
    """A client from a kubeconfig (``KUBECONFIG``/``~/.kube/config``) or in-cluster config."""
    try:
        explicit = kubeconfig or context or os.environ.get("KUBECONFIG")
        if not explicit and not Path("~/.kube/config").expanduser().exists():
            configuration = kubernetes.client.Configuration()
            kubernetes.config.load_incluster_config(client_configuration=configuration)
            return KubeApi(kubernetes.client.ApiClient(configuration))
        api_client = kubernetes.config.new_client_from_config(
            config_file=kubeconfig, context=context
        )
    except (kubernetes.config.ConfigException, OSError, ValueError) as exc:
        raise KubeError(f"cannot load Kubernetes configuration: {exc}") from None
    return KubeApi(api_client)
