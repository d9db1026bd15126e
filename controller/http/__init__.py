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

The modules: :mod:`~controller.http.server` (routes, handlers, the request path to RSA work),
:mod:`~controller.http.ratelimit` (token buckets per client) and :mod:`~controller.http.keyusage`
(SealedSecrets per key, and its cache).
"""

from __future__ import annotations

from controller.http.keyusage import count_key_usage
from controller.http.ratelimit import MAX_CLIENTS, PROXY_SHARE, ClientLimiter, TokenBucket
from controller.http.server import HTTP_LIMITS, HttpServer

__all__ = [
    "HTTP_LIMITS",
    "MAX_CLIENTS",
    "PROXY_SHARE",
    "ClientLimiter",
    "HttpServer",
    "TokenBucket",
    "count_key_usage",
]
