"""The controller's HTTP server: its routes, and the path from a request to RSA work.

:class:`HttpServer` serves the endpoints listed in :mod:`controller.http`. A request that may
cost private-key work takes its first token from the client's bucket before its body is read,
reads the body with :data:`HTTP_LIMITS`, plans its work
(:func:`~sealer.sealing.plan_private_key_ops`) and pays for the rest before any is done; the
work itself runs in the default executor. A refusal is one line, with its status (413, 422, 429
with Retry-After).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.http.keyusage import UsageCache, count_key_usage
from controller.http.ratelimit import ClientLimiter, client_of
from controller.keyring import Keyring
from controller.metrics import Metrics
from sealer.api import SEALED_SECRETS
from sealer.errors import SealopsError
from sealer.kube import Kube
from sealer.manifests import dump_documents, load_documents, parse_sealed_secret
from sealer.reader import REQUEST_LIMITS, InputBoundError
from sealer.sealing import (
    MAX_PRIVATE_KEY_OPS,
    Work,
    WorkBoundError,
    plan_private_key_ops,
    reencrypt,
    unseal,
)

__all__ = ["HTTP_LIMITS", "HttpServer"]

log = logging.getLogger("controller.http")  # the name it logged under as one module

#: The reader's bounds for request bodies (in sealer, where ``seal`` sizes its batches by them).
HTTP_LIMITS = REQUEST_LIMITS
_MAX_BODY = HTTP_LIMITS.max_bytes


@dataclass
class _Refused(Exception):
    """A request the handler refuses from the executor: status and one-line reason."""

    status: int
    text: str
    retry_after: float = 0.0


class HttpServer:
    """The endpoints over one keyring, one API client and one metrics registry."""

    def __init__(
        self,
        *,
        keyring: Keyring,
        kube: Kube,
        metrics: Metrics,
        rate: float = 20.0,
        burst: int = MAX_PRIVATE_KEY_OPS,
        keys_ttl: float = 30.0,
        max_ops: int = MAX_PRIVATE_KEY_OPS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.keyring = keyring
        self.kube = kube
        self.metrics = metrics
        # A request may cost up to max_ops tokens: a bucket smaller than that could never serve it.
        self.limiter = ClientLimiter(rate, max(burst, max_ops), clock=clock)
        self.max_ops = max_ops
        self._usage = UsageCache(self._list_usage, ttl=keys_ttl, clock=clock)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY, middlewares=[self._observe])
        app.router.add_get("/v1/cert.pem", self.cert)
        app.router.add_post("/v1/verify", self.verify)
        app.router.add_post("/v1/rotate", self.rotate)
        app.router.add_get("/v1/keys", self.keys)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.prometheus)
        return app

    async def start(self, host: str, port: int) -> None:
        # An idle keep-alive connection closes after a second (aiohttp's default is 75 s): kopf,
        # stopping, waits up to 5 s for every task begun while it ran, a connection's included.
        self._runner = web.AppRunner(self.app(), access_log=None, keepalive_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("HTTP endpoints listening on %s:%s", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _observe(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = (
            request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else "other"
        )
        start = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.metrics.http_requests.labels(path, request.method, str(exc.status)).inc()
            raise
        self.metrics.http_requests.labels(path, request.method, str(response.status)).inc()
        self.metrics.http_seconds.labels(path).observe(time.perf_counter() - start)
        return response

    async def cert(self, request: web.Request) -> web.Response:
        newest = self.keyring.newest()
        if newest is None or newest.certificate is None:
            return web.Response(status=503, text="no sealing key yet\n")
        return web.Response(
            body=newest.certificate_pem(),
            content_type="application/x-pem-file",
            headers={"X-Sealops-Fingerprint": newest.fingerprint},
        )

    def _charge(self, request: web.Request, cost: float) -> None:
        """Take ``cost`` tokens from the client's bucket, or refuse with 429."""
        remote, forwarded = client_of(request)
        wait = self.limiter.take(remote, forwarded, cost)
        if wait:
            self.metrics.http_rate_limited.labels(request.path).inc()
            raise _Refused(429, "rate limited", wait)

    @staticmethod
    def _refusal(refused: _Refused) -> web.Response:
        headers = {"Retry-After": str(max(1, round(refused.retry_after)))}
        return web.Response(
            status=refused.status,
            text=refused.text + "\n",
            headers=headers if refused.retry_after else None,
        )

    async def _serve(self, request: web.Request, work: Callable[[bytes], str]) -> str:
        """Charge the request's floor, read the body, run ``work`` in the executor."""
        self._charge(request, 1)
        body = await request.read()
        return await asyncio.get_running_loop().run_in_executor(None, work, body)

    def _read(self, body: bytes) -> list[dict[str, Any]]:
        try:
            return load_documents(body, source="request", limits=HTTP_LIMITS)
        except InputBoundError as exc:
            raise _Refused(413, str(exc)) from None

    def _plan(self, request: web.Request, sealed: list[Any], keys: list[Any]) -> None:
        """Plan the RSA work of the whole request and charge it, before any private-key op."""
        planned = 0
        try:
            for doc in sealed:
                planned += plan_private_key_ops(doc, keys, max_ops=self.max_ops)
        except WorkBoundError as exc:
            raise _Refused(422, str(exc)) from None
        if planned > self.max_ops:
            raise _Refused(
                422,
                f"request: would take {planned:,} private-key operations; at most "
                f"{self.max_ops} are allowed per request",
            )
        if planned > 1:  # the first token was taken when the request came in
            self._charge(request, planned - 1)

    async def verify(self, request: web.Request) -> web.Response:
        def check(body: bytes) -> str:
            docs = self._read(body)
            if len(docs) != 1:
                raise SealopsError(f"expected one SealedSecret, got {len(docs)}")
            sealed = parse_sealed_secret(docs[0], allow_bitnami=False)
            keys = self.keyring.all()
            self._plan(request, [sealed], keys)
            work = Work()
            try:
                unseal(sealed, keys, max_ops=self.max_ops, work=work)
            finally:
                self.metrics.private_key_ops.inc(work.ops)
            return "OK"

        try:
            text = await self._serve(request, check)
        except _Refused as refused:
            return self._refusal(refused)
        except WorkBoundError as exc:  # the fallback after a wrong hint reached the bound
            return web.Response(status=422, text=f"{exc}\n")
        except SealopsError as exc:
            return web.Response(status=409, text=f"{exc}\n")
        return web.Response(text=text + "\n")

    async def rotate(self, request: web.Request) -> web.Response:
        want_json = "json" in (request.headers.get("Accept") or "") or "json" in (
            request.content_type or ""
        )

        def reseal(body: bytes) -> str:
            newest = self.keyring.newest()
            if newest is None:
                raise SealopsError("no sealing key")
            docs = self._read(body)
            if not docs:
                raise SealopsError("no SealedSecret in the request")
            sealed = [parse_sealed_secret(d, allow_bitnami=False) for d in docs]
            keys = self.keyring.all()
            self._plan(request, sealed, keys)
            work = Work()
            try:
                out = [
                    reencrypt(
                        s, keys, [newest.recipient], max_ops=self.max_ops - work.ops, work=work
                    )
                    for s in sealed
                ]
            finally:
                self.metrics.private_key_ops.inc(work.ops)
            return dump_documents(out, "json" if want_json else "yaml")

        try:
            text = await self._serve(request, reseal)
        except _Refused as refused:
            return self._refusal(refused)
        except WorkBoundError as exc:  # the fallback after a wrong hint reached the bound
            return web.Response(status=422, text=f"{exc}\n")
        except SealopsError as exc:
            return web.Response(status=409, text=f"{exc}\n")
        return web.Response(
            text=text, content_type="application/json" if want_json else "application/yaml"
        )

    def usage_changed(self) -> None:
        """A SealedSecret was reconciled: /v1/keys lists again until its status has settled."""
        self._usage.changed()

    def key_usage(self) -> Counter[str]:
        """SealedSecrets per key, from a cluster-wide LIST at most once per ``keys_ttl``
        (sooner after a reconcile: see :class:`~controller.http.keyusage.UsageCache`)."""
        return self._usage.get()

    def _list_usage(self) -> Counter[str]:
        self.metrics.key_usage_lists.inc()
        return count_key_usage(self.kube.list(SEALED_SECRETS))

    async def keys(self, request: web.Request) -> web.Response:
        def gather(_body: bytes) -> str:
            usage = self.key_usage()
            newest = self.keyring.newest()
            out = []
            for pair in self.keyring.all():
                out.append(
                    {
                        "fingerprint": pair.fingerprint,
                        "secret": pair.name,
                        "created": pair.created.isoformat() if pair.created else None,
                        "sealing": newest is not None and pair.fingerprint == newest.fingerprint,
                        "sealedSecrets": usage.pop(pair.fingerprint, 0),
                    }
                )
            # Fingerprints that SealedSecrets name but no loaded key has: keys to restore.
            out += [
                {"fingerprint": fp, "sealedSecrets": n, "sealing": False, "missing": True}
                for fp, n in sorted(usage.items())
            ]
            return json.dumps({"keys": out}, indent=2) + "\n"

        try:
            text = await self._serve(request, gather)
        except _Refused as refused:
            return self._refusal(refused)
        except SealopsError as exc:
            return web.Response(status=503, text=f"{exc}\n")
        return web.Response(text=text, content_type="application/json")

    async def healthz(self, request: web.Request) -> web.Response:
        if not len(self.keyring):
            return web.Response(status=503, text="no keys loaded\n")
        return web.Response(text="ok\n")

    async def prometheus(self, request: web.Request) -> web.Response:
        payload = generate_latest(self.metrics.registry)
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})
