"""HTTP: the aiohttp application that maps Kubernetes REST requests onto a :class:`Cluster`.

One catch-all route parses the path itself (:mod:`sandbox.kubeapi.routing`), so the cost per
request does not depend on how many resource types are served. Every error leaves as a
Kubernetes ``Status`` with the matching HTTP code; lists carry ``kind: XList``; watches stream
newline-delimited JSON events with ``Content-Type: application/json`` (see
https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks and
https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses ). Discovery and
the ``/_emulator/`` control paths are in :mod:`sandbox.kubeapi.nonresource`, the service proxy in
:mod:`sandbox.kubeapi.proxy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import traceback
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.kubeapi import metadata, nonresource, proxy, routing
from sandbox.kubeapi.cluster import APPLY, JSON_PATCH, MERGE, STRATEGIC, Cluster
from sandbox.kubeapi.errors import ApiError, bad_request, method_not_allowed, unsupported_media_type
from sandbox.kubeapi.faults import Fault
from sandbox.kubeapi.resources import ResourceType
from sandbox.kubeapi.responses import flag, json_response, read_body
from sandbox.kubeapi.routing import Target
from sandbox.kubeapi.selectors import FieldSelector, LabelSelector, combine
from sandbox.kubeapi.streaming import WatchStream, send
from sandbox.kubeapi.tables import TABLE_MARK, to_table
from sandbox.kubeapi.watch import Watcher
from sandbox.kubeapi.writes import WRITE_VERBS, create_name

Obj = dict[str, Any]
_CONTENT_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)
_SUBRESOURCE_VERBS = {"status": ("get", "update", "patch"), "token": ("create",)}


def _integer(params: Any, name: str) -> int:
    try:
        return int(params.get(name) or 0)
    except ValueError as exc:
        raise bad_request(f"invalid value for {name}: {params.get(name)!r}") from exc


def _verb(method: str, target: Target, params: Any) -> str:
    collection = target.name is None
    if method == "GET":
        if target.legacy_watch or flag(params, "watch"):
            return "watch"
        return "list" if collection else "get"
    if method == "DELETE":
        return "deletecollection" if collection else "delete"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _check_path_name(target: Target, rt: ResourceType) -> None:
    """A name in the path that cannot be a storage key is a 400, as from the real server's
    ``NamespaceKeyFunc``/``NoNamespaceKeyFunc`` (IsValidPathSegmentName): not ``.`` or ``..``,
    no ``%`` (a ``/``, even sent as ``%2F``, is already a segment boundary). A watch takes the
    name as a field selector and checks nothing; other names the kind would refuse on create
    are simply not found."""
    name = target.name or ""
    if target.subresource == "proxy" and rt.plural == "services":
        name = proxy.parse_target(name)[1]
    problem = metadata.path_segment_problem(name)
    if problem:
        raise bad_request(f"Name parameter invalid: {json.dumps(name)}: {problem}")


class KubeApi:
    """The application and its per-server settings."""

    def __init__(self, cluster: Cluster, *, bookmark_interval: float = 60.0) -> None:
        self.cluster = cluster
        self.bookmark_interval = bookmark_interval
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        loop = asyncio.get_running_loop()

        def defer(fn: Callable[[], None]) -> None:
            loop.call_soon(fn)

        self.cluster.defer = defer
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=False), auto_decompress=False
        )

    async def _stop(self, _app: web.Application) -> None:
        for watcher in self.cluster.store.hub.watchers():
            watcher.close()
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as exc:
            return self._failure(exc)
        except Exception as exc:  # a bug here must still reach the client as a Status
            traceback.print_exc()
            return self._failure(ApiError(500, "InternalError", f"emulator error: {exc!r}"))

    @staticmethod
    def _failure(exc: ApiError) -> web.StreamResponse:
        response = json_response(exc.status(), exc.code)
        if exc.details and "retryAfterSeconds" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retryAfterSeconds"])
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        special = await nonresource.answer(request, self.cluster)
        if special is not None:
            return special
        target = routing.parse(path)
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = self.cluster.type_of(target.group, target.version, target.plural)
        if rt.namespaced is False and target.namespace is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        params = request.query
        verb = _verb(request.method, target, params)
        resource = f"{rt.plural}/{target.subresource}" if target.subresource else rt.plural
        if verb in WRITE_VERBS:
            await self._record(request, verb, resource, target)
        fault = self.cluster.faults.take(verb, resource, target.name or "", target.namespace or "")
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                # 429 comes with a retry hint, as from the real server's max-in-flight filter.
                details = {"retryAfterSeconds": 1} if fault.status == 429 else None
                raise ApiError(fault.status, fault.reason, fault.message, details=details)
        if target.name is not None and verb != "watch":
            _check_path_name(target, rt)
        if target.subresource == "proxy" and rt.plural == "services":
            assert self._session is not None
            return await proxy.forward(self._session, self.cluster.store, request, target)
        if verb == "watch":
            return await self._watch(request, rt, target, fault)
        return await self._verb(request, rt, target, verb)

    async def _record(self, request: web.Request, verb: str, resource: str, target: Target) -> None:
        name = target.name or ""
        if verb == "create" and not name:
            with contextlib.suppress(ApiError):
                name = create_name(await read_body(request))  # aiohttp keeps the body read
        self.cluster.writes.record(
            verb,
            resource,
            target.namespace or "",
            name,
            user_agent=request.headers.get("User-Agent", ""),
            field_manager=request.query.get("fieldManager", ""),
            dry_run=request.query.get("dryRun") == "All",
        )

    async def _verb(
        self, request: web.Request, rt: ResourceType, target: Target, verb: str
    ) -> web.StreamResponse:
        cluster, params = self.cluster, request.query
        ns = target.namespace or ""
        sub = target.subresource
        dry_run = params.get("dryRun") == "All"
        if rt.namespaced and target.namespace is None and verb not in ("list", "deletecollection"):
            raise method_not_allowed()
        if sub not in (None, "status", *rt.subresources) or (sub == "status" and not rt.has_status):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if verb not in (_SUBRESOURCE_VERBS.get(sub, ()) if sub else rt.verbs):
            raise method_not_allowed()
        if verb == "get":
            obj = cluster.get(rt, ns, target.name or "")
            return json_response(to_table(rt, [obj], single=True) if self._table(request) else obj)
        if verb == "list":
            listed = cluster.list(
                rt,
                target.namespace,
                label_selector=params.get("labelSelector"),
                field_selector=params.get("fieldSelector"),
                limit=_integer(params, "limit"),
                continue_token=params.get("continue"),
            )
            if self._table(request):
                return json_response(to_table(rt, listed["items"], meta=listed["metadata"]))
            return json_response(listed)
        body = await read_body(request) if verb != "get" else {}
        if verb == "create":
            if sub == "token" and rt.plural == "serviceaccounts":
                return json_response(cluster.request_token(ns, target.name or "", body), 201)
            if rt.plural == "tokenreviews":
                return json_response(cluster.review_token(body), 201)
            if target.name is not None:
                raise method_not_allowed()
            return json_response(cluster.create(rt, ns, body, dry_run=dry_run), 201)
        if verb == "update":
            return json_response(
                cluster.update(rt, ns, target.name or "", body, subresource=sub, dry_run=dry_run)
            )
        if verb == "patch":
            content_type = request.content_type
            if (
                content_type not in _CONTENT_TYPES
                or content_type == APPLY
                or (content_type == STRATEGIC and rt.custom)
            ):
                accepted = [JSON_PATCH, MERGE] if rt.custom else [JSON_PATCH, MERGE, STRATEGIC]
                raise unsupported_media_type(content_type, accepted)
            obj = cluster.patch(
                rt, ns, target.name or "", content_type, body, subresource=sub, dry_run=dry_run
            )
            return json_response(obj)
        if verb == "delete":
            options = dict(body) if isinstance(body, dict) else {}
            for key in ("propagationPolicy", "orphanDependents"):
                if key in params:
                    options[key] = params[key] if key == "propagationPolicy" else flag(params, key)
            if dry_run:
                options["dryRun"] = ["All"]
            return json_response(cluster.delete(rt, ns, target.name or "", options))
        if verb == "deletecollection":
            options = dict(body) if isinstance(body, dict) else {}
            if "propagationPolicy" in params:
                options["propagationPolicy"] = params["propagationPolicy"]
            return json_response(
                cluster.delete_collection(
                    rt,
                    target.namespace,
                    options,
                    label_selector=params.get("labelSelector"),
                    field_selector=params.get("fieldSelector"),
                )
            )
        raise method_not_allowed()

    @staticmethod
    def _table(request: web.Request) -> bool:
        return TABLE_MARK in request.headers.get("Accept", "")

    # -- watch ----------------------------------------------------------------------------------

    async def _watch(
        self, request: web.Request, rt: ResourceType, target: Target, fault: Fault | None
    ) -> web.StreamResponse:
        params = request.query
        store = self.cluster.store
        labels = LabelSelector.parse(params.get("labelSelector"))
        fields = FieldSelector.parse(params.get("fieldSelector"), rt.kind)
        if target.name is not None:  # /watch/namespaces/NS/PLURAL/NAME
            fields = FieldSelector((*fields.requirements, ("metadata.name", True, target.name)))
        watcher = Watcher(target.namespace, combine(labels, fields))
        rv_param = params.get("resourceVersion", "")
        send_initial = flag(params, "sendInitialEvents")
        bookmarks = flag(params, "allowWatchBookmarks")
        # Without timeoutSeconds the real server ends a watch after 30 to 60 minutes.
        timeout = float(_integer(params, "timeoutSeconds") or 1800)
        # Everything up to subscribe() runs without awaiting, so no event falls between the
        # snapshot (or the replay from the window) and the live stream.
        backlog: list[tuple[str, Obj]] = []
        error: ApiError | None = None
        if rv_param in ("", "0") or send_initial:
            backlog = [
                ("ADDED", o) for o in store.list(rt.key, target.namespace) if watcher.matches(o)
            ]
        else:
            try:
                rv = int(rv_param)
            except ValueError as exc:
                raise bad_request(f"invalid resource version: {rv_param!r}") from exc
            try:
                backlog = [t for e in store.hub.since(rt.key, rv) if (t := watcher.translate(e))]
            except ApiError as exc:
                error = exc
        if error is None:
            store.hub.subscribe(rt.key, watcher)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            if error is not None:
                # The real server answers a too-old watch with 200 and one ERROR event (410).
                await send(response, "ERROR", error.status())
                return response
            await WatchStream(
                request=request,
                response=response,
                rt=rt,
                store=store,
                watcher=watcher,
                backlog=backlog,
                timeout=timeout,
                bookmarks=bookmarks,
                bookmark_interval=self.bookmark_interval,
                initial_end=send_initial and bookmarks,
                budget=fault.cut_after if fault is not None else None,
                table=self._table(request),
            ).run()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            store.hub.unsubscribe(rt.key, watcher)
        return response
