"""Paths that are not resources: health, version, discovery, OpenAPI, OIDC, emulator control.

Discovery documents come from :mod:`sandbox.kubeapi.discovery`. ``/.well-known/openid-configuration``
and ``/openid/v1/jwks`` are served as a real API server does for its service account issuer
(https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery).
``/_emulator/`` is this emulator's own control surface, for processes that cannot reach the
fixture object: ``faults`` (GET the pending rules, POST one, DELETE all), ``writes`` (GET the
write record, ``?since=N`` from the N-th record on; DELETE clears it: :mod:`sandbox.kubeapi.writes`),
``watches/cut`` (POST,
optionally ``{"resource": PLURAL}``) and ``keys`` (the token signing key as PEM and JWKS).
"""

from __future__ import annotations

from aiohttp import web

from sandbox.kubeapi import discovery
from sandbox.kubeapi.cluster import Cluster
from sandbox.kubeapi.errors import ApiError, bad_request
from sandbox.kubeapi.responses import json_response, read_body
from sandbox.kubeapi.tokens import ISSUER

_HEALTH = ("/healthz", "/readyz", "/livez")


def _not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


async def answer(request: web.Request, cluster: Cluster) -> web.StreamResponse | None:
    """The answer for a non-resource path, or None when ``request`` is for a resource."""
    path, registry = request.path, cluster.registry
    segments = path.strip("/").split("/")
    if path in _HEALTH:
        return web.Response(text="ok")
    if path == "/version":
        return json_response(discovery.VERSION)
    if path == "/api":
        return json_response(discovery.core_versions(request.host))
    if path == "/api/v1":
        return json_response(discovery.resource_list(registry, "", "v1"))
    if path == "/apis":
        return json_response(discovery.group_list(registry))
    if segments[0] == "apis" and len(segments) in (2, 3):
        if len(segments) == 2:
            doc = discovery.group(registry, segments[1])
        else:
            doc = discovery.resource_list(registry, segments[1], segments[2])
        if doc is None:
            raise _not_found()
        return json_response(doc)
    if path == "/openapi/v3":
        return json_response(discovery.openapi_root(registry))
    if segments[:2] == ["openapi", "v3"]:
        rest = segments[2:]
        group, version = ("", rest[-1]) if rest[:1] == ["api"] else (rest[1], rest[-1])
        gv_doc = (
            discovery.openapi_group_version(registry, group, version) if len(rest) >= 2 else None
        )
        if gv_doc is None:
            raise _not_found()
        return json_response(gv_doc)
    if path == "/.well-known/openid-configuration":
        return json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"http://{request.host}/openid/v1/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )
    if path == "/openid/v1/jwks":
        return json_response(cluster.tokens.jwks())
    if segments[0] == "_emulator":
        return await _control(request, cluster, segments[1:])
    return None


async def _control(
    request: web.Request, cluster: Cluster, segments: list[str]
) -> web.StreamResponse:
    faults = cluster.faults
    if segments == ["faults"]:
        if request.method == "GET":
            return json_response([f.as_json() for f in faults.pending()])
        if request.method == "DELETE":
            faults.clear()
            return json_response({})
        if request.method == "POST":
            body = await read_body(request)
            try:
                fault = faults.add(**body)
            except (TypeError, ValueError) as exc:
                raise bad_request(str(exc)) from exc
            return json_response(fault.as_json(), 201)
    if segments == ["writes"]:
        if request.method == "GET":
            try:
                since = int(request.query.get("since") or 0)
            except ValueError as exc:
                raise bad_request("since must be an integer") from exc
            return json_response([w.as_json() for w in cluster.writes.since(since)])
        if request.method == "DELETE":
            cluster.writes.clear()
            return json_response({})
    if segments == ["watches", "cut"] and request.method == "POST":
        body = await read_body(request)
        return json_response({"cut": cluster.cut_watches(body.get("resource"))})
    if segments == ["keys"]:
        return json_response(
            {"publicKeyPEM": cluster.tokens.public_key_pem, "jwks": cluster.tokens.jwks()}
        )
    raise ApiError(404, "NotFound", "unknown emulator path")
