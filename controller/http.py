"""The controller's HTTP endpoints, served by aiohttp inside kopf's event loop.

    GET  /v1/cert.pem   the sealing certificate (public)
    POST /v1/verify     a SealedSecret (YAML/JSON): 200 if it unseals here, 409 with the reason
    POST /v1/rotate     SealedSecret(s): re-sealed for the newest key, same scope
    GET  /v1/keys       every key: fingerprint, created, whether it seals, SealedSecrets it serves
    GET  /healthz       200 once keys are loaded
    GET  /metrics       Prometheus

RSA work and API calls run in the default executor, never on the loop. Verify and rotate do
private-key work for anyone who can reach the Service, so that work is bounded and rate-limited:

* bodies are read by the bounded reader with tighter limits than the CLI's (``HTTP_LIMITS``):
  past one, 413, before anything is built;
* the private-key operations a request would cost are planned before any RSA work (at most
  ``MAX_RECIPIENTS`` recipients per value, ``MAX_PRIVATE_KEY_OPS`` per request): past the bound,
  422;
* each client has its own token bucket, counted in private-key operations: a request costs one
  token per planned operation, and at least one (429 with Retry-After when its bucket is short,
  the first token taken before the body is read). See
  :class:`ClientLimiter` for who counts as a client.

``/v1/keys`` answers from a cache of the usage counts (one cluster-wide LIST per ``keys_ttl``,
or per second after a reconcile, however many ask) and is rate-limited too. Responses never
contain plaintext: verify answers yes/no, rotate returns ciphertext.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.keyring import Keyring
from controller.metrics import Metrics
from sealer.api import ANN_SEALED_WITH, SEALED_SECRETS
from sealer.errors import SealopsError
from sealer.kube import Kube
from sealer.manifests import dump_documents, load_documents, parse_sealed_secret, parse_sealed_with
from sealer.reader import REQUEST_LIMITS, InputBoundError
from sealer.sealing import (
    MAX_PRIVATE_KEY_OPS,
    Work,
    WorkBoundError,
    plan_private_key_ops,
    reencrypt,
    unseal,
)

__all__ = ["HTTP_LIMITS", "ClientLimiter", "HttpServer", "TokenBucket", "count_key_usage"]

log = logging.getLogger(__name__)
#: The reader's bounds for request bodies (in sealer, where ``seal`` sizes its batches by them).
HTTP_LIMITS = REQUEST_LIMITS
_MAX_BODY = HTTP_LIMITS.max_bytes
#: Seconds between two LISTs for /v1/keys at the least, however often SealedSecrets change.
_USAGE_FLOOR = 1.0
#: Seconds after a reconcile within which its status may not be written yet.
_SETTLE = 2.0
#: Clients whose buckets are remembered; the least recently seen is forgotten first.
MAX_CLIENTS = 4096
#: A peer that forwards for others (X-Forwarded-For) gets this many clients' worth in all.
PROXY_SHARE = 8


class TokenBucket:
    """``rate`` tokens per second on average, bursts of ``burst``. Not locked: see the limiter."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_for(self, cost: float) -> float:
        """0 if ``cost`` tokens are there now, else the seconds until they will be."""
        self._refill()
        if self._tokens >= cost:
            return 0.0
        if cost > self.burst or self.rate <= 0:
            return 60.0
        return (cost - self._tokens) / self.rate

    def spend(self, cost: float) -> None:
        self._tokens -= cost

    def take(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: 0 if taken, else the seconds until they are available."""
        wait = self.wait_for(cost)
        if not wait:
            self.spend(cost)
        return wait


class ClientLimiter:
    """Token buckets per client, in private-key operations, for at most ``max_clients`` clients.

    A client is the peer address of the connection. When the request carries X-Forwarded-For,
    the peer is a proxy forwarding for others: the Kubernetes API server's service proxy, which
    is how ``seal`` reaches the controller by default, connects from the API server's address for
    every user, and appends the address it saw the user connect from to X-Forwarded-For (as Go's
    reverse proxy does). Such a request is counted twice: against the last X-Forwarded-For entry
    behind that peer (one client's budget), and against the peer as a whole, which gets
    ``PROXY_SHARE`` clients' budget. A client that writes X-Forwarded-For itself gains at most
    that share, never an unlimited supply of fresh buckets; a client behind the API server cannot
    use up more than its own budget, so others behind it are still served.

    The table is bounded: the least recently seen bucket is forgotten first (a forgotten client
    comes back with a full bucket, which is what an idle client would have had anyway).
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_clients: int = MAX_CLIENTS,
        proxy_share: int = PROXY_SHARE,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self.proxy_share = proxy_share
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, ...], TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: tuple[str, ...], share: int) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.rate * share, self.burst * share, self.clock)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def take(self, remote: str, forwarded: str | None, cost: float) -> float:
        """Charge ``cost`` to the client: 0 if taken, else seconds to wait (nothing is taken)."""
        with self._lock:
            if forwarded:
                buckets = [
                    self._bucket(("via", remote), self.proxy_share),
                    self._bucket(("for", remote, forwarded), 1),
                ]
            else:
                buckets = [self._bucket(("peer", remote), 1)]
            wait = max(bucket.wait_for(cost) for bucket in buckets)
            if not wait:
                for bucket in buckets:
                    bucket.spend(cost)
            return wait


def client_of(request: web.Request) -> tuple[str, str | None]:
    """(peer address, the last X-Forwarded-For entry or None): see :class:`ClientLimiter`."""
    forwarded = request.headers.get("X-Forwarded-For")
    last = forwarded.rsplit(",", 1)[-1].strip()[:64] if forwarded else ""
    return request.remote or "unknown", last or None


@dataclass
class _Refused(Exception):
    """A request the handler refuses from the executor: status and one-line reason."""

    status: int
    text: str
    retry_after: float = 0.0


#: A key's fingerprint (``sealer.keys.fingerprint``): a hint is the tenant's text, and only what
#: has this shape is listed.
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def count_key_usage(sealed_secrets: list[dict[str, Any]]) -> Counter[str]:
    """SealedSecrets per key: what opened them (status), else what sealed them (the hint)."""
    usage: Counter[str] = Counter()
    for body in sealed_secrets:
        fps = set((body.get("status") or {}).get("sealedWith") or [])
        if not fps:
            annotations = (body.get("metadata") or {}).get("annotations") or {}
            keys = ((body.get("spec") or {}).get("encryptedData") or {}).keys()
            for listed in parse_sealed_with(annotations.get(ANN_SEALED_WITH), keys).values():
                fps.update(fp for fp in listed if _FINGERPRINT.fullmatch(fp))
        usage.update(fps)
    return usage


class HttpServer:
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
        self.keys_ttl = keys_ttl
        self.clock = clock
        self._usage: tuple[float, Counter[str]] | None = None
        self._changed_at = float("-inf")
        self._usage_lock = threading.Lock()
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
        self._changed_at = self.clock()

    def key_usage(self) -> Counter[str]:
        """SealedSecrets per key, from a cluster-wide LIST at most once per ``keys_ttl``.

        Sooner after a reconcile (:meth:`usage_changed`): a LIST made less than ``_SETTLE``
        seconds after one may miss its status, which kopf writes after the handler returns, so
        it is not kept; but there is never more than one LIST per ``_USAGE_FLOOR`` seconds. One
        caller lists while the others wait for its answer: a burst of requests costs one LIST.
        """
        with self._usage_lock:
            now = self.clock()
            if self._usage is not None:
                taken, usage = self._usage
                settled = taken >= self._changed_at + _SETTLE
                if now - taken < _USAGE_FLOOR or (settled and now - taken < self.keys_ttl):
                    return Counter(usage)
            self.metrics.key_usage_lists.inc()
            usage = count_key_usage(self.kube.list(SEALED_SECRETS))
            self._usage = (self.clock(), usage)
            return Counter(usage)

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
