"""The service proxy: ``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH``.

As the real API server does
(https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls),
the Service's port (by name or number; the only port if none is given) is resolved to an
endpoint address and port from the Service's ``Endpoints`` object, or failing that from an
``EndpointSlice`` labelled ``kubernetes.io/service-name``; method, query, body, headers and status
are passed through. No endpoint is a 503, as on a real cluster. The caller's address is appended
to ``X-Forwarded-For`` (after any the caller sent), as the API server's proxy does since
kubernetes/kubernetes#46126 (``appendForwardedForHeader`` in apimachinery's proxy package).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from sandbox.kubeapi.errors import ApiError, bad_request, not_found
from sandbox.kubeapi.routing import Target
from sandbox.kubeapi.store import Store

Obj = dict[str, Any]
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "authorization",
    }
)


def parse_target(text: str) -> tuple[str, str, str]:
    """``[scheme:]name[:port]`` -> (scheme, name, port); port may be a name, number or ''."""
    parts = text.split(":")
    if len(parts) == 1:
        return "http", parts[0], ""
    if len(parts) == 2:
        if parts[0] in ("http", "https"):
            return parts[0], parts[1], ""
        return "http", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0] or "http", parts[1], parts[2]
    raise bad_request(f"invalid service proxy target {text!r}")


def _service_port(service: Obj, port: str) -> Obj:
    ports = (service.get("spec") or {}).get("ports") or []
    if not port:
        if len(ports) != 1:
            raise ApiError(
                503,
                "ServiceUnavailable",
                "no port specified and the service has not exactly one port",
            )
        result: Obj = ports[0]
        return result
    for p in ports:
        if p.get("name") == port or str(p.get("port")) == port:
            found: Obj = p
            return found
    raise ApiError(
        503,
        "ServiceUnavailable",
        f'no service port "{port}" found for service "{service["metadata"]["name"]}"',
    )


def resolve(store: Store, namespace: str, target: str) -> tuple[str, str]:
    """(scheme, "host:port") of one endpoint behind the Service named by ``target``."""
    scheme, name, port = parse_target(target)
    service = store.get(("", "services"), namespace, name)
    if service is None:
        raise not_found("services", "", name)
    sport = _service_port(service, port)
    port_name = sport.get("name", "")
    endpoints = store.get(("", "endpoints"), namespace, name)
    for subset in (endpoints or {}).get("subsets") or []:
        addresses = subset.get("addresses") or []
        for ep_port in subset.get("ports") or []:
            if addresses and ep_port.get("name", "") == port_name:
                return scheme, f"{addresses[0]['ip']}:{ep_port['port']}"
    for slice_ in store.list(("discovery.k8s.io", "endpointslices"), namespace):
        labels = slice_["metadata"].get("labels") or {}
        if labels.get("kubernetes.io/service-name") != name:
            continue
        ready = [
            e
            for e in slice_.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready", True) and e.get("addresses")
        ]
        for ep_port in slice_.get("ports") or []:
            if ready and ep_port.get("name", "") == port_name:
                return scheme, f"{ready[0]['addresses'][0]}:{ep_port['port']}"
    raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')


async def forward(
    session: aiohttp.ClientSession, store: Store, request: web.Request, target: Target
) -> web.Response:
    """Pass ``request`` to the Service's endpoint and its answer back, hop-by-hop headers aside."""
    scheme, address = resolve(store, target.namespace or "", target.name or "")
    url = f"{scheme}://{address}/{target.tail}"
    if request.query_string:
        url += f"?{request.query_string}"
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-forwarded-for"
    }
    if request.remote:
        prior = request.headers.getall("X-Forwarded-For", [])
        headers["X-Forwarded-For"] = ", ".join([*prior, request.remote])
    try:
        async with session.request(
            request.method, url, headers=headers, data=await request.read(), allow_redirects=False
        ) as upstream:
            body = await upstream.read()
            back = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=upstream.status, body=body, headers=back)
    except aiohttp.ClientError as exc:
        raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from exc
