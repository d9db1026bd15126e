"""The controller's HTTP endpoints, served by aiohttp inside kopf's event loop.

    GET  /v1/cert.pem   the sealing certificate (public)
    POST /v1/verify     a SealedSecret (YAML/JSON): 200 if it unseals here, 409 with the reason
    POST /v1/rotate     SealedSecret(s): re-sealed for the newest key, same scope
    GET  /v1/keys       every key: fingerprint, created, whether it seals, SealedSecrets it serves
    GET  /healthz       200 once keys are loaded
    GET  /metrics       Prometheus

RSA work and API calls run in the default executor, never on the loop. Verify and rotate do
private-key work for anyone who can reach the Service, so they share a token bucket (429 when
empty). Responses never contain plaintext: verify answers yes/no, rotate returns ciphertext.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.keyring import Keyring
from controller.metrics import Metrics
from controller.sealedsecrets import SEALED_SECRETS
from sealer.errors import SealopsError
from sealer.kube import Kube
from sealer.manifests import (
    ANN_SEALED_WITH,
    dump_documents,
    load_documents,
    parse_sealed_secret,
    parse_sealed_with,
)
from sealer.sealing import reencrypt, unseal

__all__ = ["HttpServer", "TokenBucket", "count_key_usage"]

log = logging.getLogger(__name__)
_MAX_BODY = 4 * 1024 * 1024


class TokenBucket:
    """``rate`` requests per second on average, bursts of ``burst``. Thread-safe."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate if self.rate > 0 else 60.0


def count_key_usage(sealed_secrets: list[dict[str, Any]]) -> Counter[str]:
    """SealedSecrets per key: what opened them (status), else what sealed them (the hint)."""
    usage: Counter[str] = Counter()
    for body in sealed_secrets:
        fps = set((body.get("status") or {}).get("sealedWith") or [])
        if not fps:
            annotations = (body.get("metadata") or {}).get("annotations") or {}
            keys = ((body.get("spec") or {}).get("encryptedData") or {}).keys()
            for listed in parse_sealed_with(annotations.get(ANN_SEALED_WITH), keys).values():
                fps.update(listed)
        usage.update(fps)
    return usage


class HttpServer:
    def __init__(
        self,
        *,
        keyring: Keyring,
        kube: Kube,
        metrics: Metrics,
        rate: float = 5.0,
        burst: int = 20,
    ):
        self.keyring = keyring
        self.kube = kube
        self.metrics = metrics
        self.bucket = TokenBucket(rate, burst)
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
        self._runner = web.AppRunner(self.app(), access_log=None)
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

    def _limited(self) -> web.Response | None:
        wait = self.bucket.take()
        if wait:
            return web.Response(
                status=429, text="rate limited\n", headers={"Retry-After": str(max(1, round(wait)))}
            )
        return None

    async def verify(self, request: web.Request) -> web.Response:
        if (limited := self._limited()) is not None:
            return limited
        body = await request.read()

        def check() -> str:
            docs = load_documents(body, source="request")
            if len(docs) != 1:
                raise SealopsError(f"expected one SealedSecret, got {len(docs)}")
            unseal(parse_sealed_secret(docs[0], allow_bitnami=False), self.keyring.all())
            return "OK"

        try:
            text = await asyncio.get_running_loop().run_in_executor(None, check)
        except SealopsError as exc:
            return web.Response(status=409, text=f"{exc}\n")
        return web.Response(text=text + "\n")

    async def rotate(self, request: web.Request) -> web.Response:
        if (limited := self._limited()) is not None:
            return limited
        body = await request.read()
        want_json = "json" in (request.headers.get("Accept") or "") or "json" in (
            request.content_type or ""
        )

        def reseal() -> str:
            newest = self.keyring.newest()
            if newest is None:
                raise SealopsError("no sealing key")
            docs = load_documents(body, source="request")
            if not docs:
                raise SealopsError("no SealedSecret in the request")
            keys = self.keyring.all()
            out = [
                reencrypt(parse_sealed_secret(d, allow_bitnami=False), keys, [newest.recipient])
                for d in docs
            ]
            return dump_documents(out, "json" if want_json else "yaml")

        try:
            text = await asyncio.get_running_loop().run_in_executor(None, reseal)
        except SealopsError as exc:
            return web.Response(status=409, text=f"{exc}\n")
        return web.Response(
            text=text, content_type="application/json" if want_json else "application/yaml"
        )

    async def keys(self, request: web.Request) -> web.Response:
        def gather() -> list[dict[str, Any]]:
            usage = count_key_usage(self.kube.list(SEALED_SECRETS))
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
            return out

        try:
            keys = await asyncio.get_running_loop().run_in_executor(None, gather)
        except SealopsError as exc:
            return web.Response(status=503, text=f"{exc}\n")
        return web.Response(
            text=json.dumps({"keys": keys}, indent=2) + "\n", content_type="application/json"
        )

    async def healthz(self, request: web.Request) -> web.Response:
        if not len(self.keyring):
            return web.Response(status=503, text="no keys loaded\n")
        return web.Response(text="ok\n")

    async def prometheus(self, request: web.Request) -> web.Response:
        payload = generate_latest(self.metrics.registry)
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})
