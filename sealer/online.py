"""Reaching the controller's HTTP endpoints from ``seal``: directly, or through the service proxy.

``--controller-url`` goes straight to the controller with urllib. Otherwise requests go through
the Kubernetes API server's service proxy (``/api/v1/namespaces/NS/services/NAME/proxy/…``) with
the user's kubeconfig and context, as ``kubectl`` users expect; only then is the ``kubernetes``
client imported, through :mod:`sealer.kubeclient`.

Answers are read up to a bound (``limit``, per endpoint, chosen by the caller): a larger answer
is refused after ``limit + 1`` bytes, whichever way it came.

:func:`rotate` sends SealedSecrets to ``/v1/rotate`` in batches that fit the controller's
request bounds (:data:`sealer.reader.REQUEST_LIMITS`: documents, bytes, nodes; and
:data:`sealer.sealing.MAX_PRIVATE_KEY_OPS` private-key operations, planned by the controller's
own :func:`sealer.sealing.plan_private_key_ops` over the keys ``/v1/keys`` lists), and waits out
a 429's ``Retry-After``, up to :data:`ROTATE_MAX_WAIT` seconds in all.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sealer.bounded import Limit, human_size, read_bounded
from sealer.errors import SealopsError
from sealer.manifests import SealedSecretDoc, load_documents
from sealer.reader import REQUEST_LIMITS, ReadLimits, read_json
from sealer.sealing import MAX_PRIVATE_KEY_OPS, Fingerprinted, WorkBoundError, plan_private_key_ops

__all__ = [
    "ROTATE_MAX_WAIT",
    "ControllerError",
    "ControllerTarget",
    "ListedKey",
    "Send",
    "plan_batches",
    "request",
    "rotate",
]

_TIMEOUT = 30.0
_ERROR_BODY = 4096
#: Seconds ``seal reencrypt`` waits in all for the controller's rate limit before giving up.
ROTATE_MAX_WAIT = 300.0
#: The wait when a 429 carries no usable Retry-After.
_DEFAULT_RETRY = 1.0


class ControllerError(SealopsError):
    """The controller answered with an error (``status``), or could not be reached (0).

    ``retry_after``: the seconds a 429 (or 503) asked to wait, when it said.
    """

    reason = "ControllerError"

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        status: int = 0,
        retry_after: float | None = None,
    ):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message, where=where)


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header's seconds (delta-seconds or an HTTP date); None if absent or bad."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        import email.utils  # deferred, as urllib below: offline commands never need them

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class ControllerTarget:
    url: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "sealops-system"
    name: str = "sealops-controller"

    def describe(self) -> str:
        return self.url or f"service {self.namespace}/{self.name}"


def request(
    target: ControllerTarget,
    method: str,
    path: str,
    body: Any = None,
    *,
    limit: int = Limit.ANSWER,
) -> bytes:
    """One call to the controller; the body is sent as JSON. Raises on any non-2xx answer.

    At most ``limit`` bytes of the answer are read; a longer one is refused.
    """
    headers: dict[str, str] = {}
    if target.url:
        status, data = _direct(target.url, method, path, body, limit, headers)
    else:
        from sealer.kubeclient import connect  # the kubernetes client loads only here

        api = connect(kubeconfig=target.kubeconfig, context=target.context)
        status, data = api.proxy(
            namespace=target.namespace,
            service=target.name,
            path=path,
            method=method,
            body=body,
            limit=limit,
            headers_out=headers,
        )
        if len(data) > limit:
            raise ControllerError(
                f"{method} {path}: the answer is larger than the {human_size(limit)} limit",
                where=target.describe(),
            )
    if not 200 <= status < 300:
        detail = data.decode("utf-8", "replace").strip().splitlines()
        message = detail[0] if detail else ""
        wait = {k.lower(): v for k, v in headers.items()}.get("retry-after")
        raise ControllerError(
            f"{method} {path} answered {status}: {message}"[:500],
            where=target.describe(),
            status=status,
            retry_after=retry_after(wait),
        )
    return data


def _direct(
    url: str, method: str, path: str, body: Any, limit: int, headers: dict[str, str]
) -> tuple[int, bytes]:
    full = url.rstrip("/") + "/" + path.lstrip("/")
    if not full.startswith(("http://", "https://")):
        raise ControllerError("only http:// and https:// URLs are supported", where=url)
    import urllib.error  # deferred: offline commands import this module and never reach here
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(full, data=data, method=method)  # noqa: S310
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as response:  # noqa: S310
            what = f"the answer to {method} {path}"
            return int(response.status), read_bounded(response, limit, what=what, where=url)
    except urllib.error.HTTPError as exc:
        headers.update((str(k), str(v)) for k, v in (exc.headers or {}).items())
        # Only the first line of an error body is shown: read no more than a line's worth.
        return int(exc.code), bytes(exc.read(_ERROR_BODY) or b"")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ControllerError(f"cannot reach the controller: {reason}", where=url) from None


# ---------------------------------------------------------------------------------------------
# /v1/rotate in batches


class Send(Protocol):
    """One call to the controller, as :func:`request` makes it for a target."""

    def __call__(self, method: str, path: str, body: Any = None, *, limit: int) -> bytes: ...


@dataclass(frozen=True)
class ListedKey:
    """A key the controller has loaded, as ``/v1/keys`` lists it."""

    fingerprint: str


def listed_keys(answer: bytes) -> list[ListedKey]:
    """The loaded keys of a ``/v1/keys`` answer (not the ones listed as missing)."""
    listed = read_json(answer, source="/v1/keys")
    keys = listed.get("keys") if isinstance(listed, Mapping) else None
    if not isinstance(keys, list):
        raise ControllerError("GET /v1/keys: the answer lists no keys", where="controller")
    return [
        ListedKey(str(key["fingerprint"]))
        for key in keys
        if isinstance(key, Mapping) and key.get("fingerprint") and not key.get("missing")
    ]


def _nodes(value: Any) -> int:
    """Nodes as the reader counts them (each mapping key and value, each item), no recursion."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        total += 1
        if isinstance(item, Mapping):
            total += len(item)  # the keys
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


# A List around the items: {"apiVersion": "v1", "kind": "List", "items": [...]}.
_LIST_BYTES = 64
_LIST_NODES = 8


def plan_batches(
    sealed: Sequence[SealedSecretDoc],
    keys: Sequence[Fingerprinted],
    *,
    limits: ReadLimits = REQUEST_LIMITS,
    max_ops: int = MAX_PRIVATE_KEY_OPS,
) -> list[list[SealedSecretDoc]]:
    """``sealed`` cut, in order, into the fewest consecutive batches that each fit one request.

    A batch holds at most ``limits.max_documents`` (and ``max_objects``) SealedSecrets, its body
    at most ``limits.max_bytes`` bytes and ``limits.max_nodes`` nodes, and opening it is planned
    to take at most ``max_ops`` private-key operations with ``keys`` (the controller's plan, by
    the same function). A SealedSecret over a bound by itself goes alone: the controller then
    refuses it and says why, as it would have in any request.
    """
    most = min(limits.max_documents, limits.max_objects)
    batches: list[list[SealedSecretDoc]] = []
    batch: list[SealedSecretDoc] = []
    ops = size = nodes = 0
    for doc in sealed:
        try:
            cost = plan_private_key_ops(doc, keys, max_ops=max_ops)
        except WorkBoundError:
            cost = max_ops + 1  # refused by the controller whatever it is sent with
        doc_size = len(json.dumps(doc.doc, default=str)) + 2
        doc_nodes = _nodes(doc.doc)
        fits = (
            len(batch) < most
            and ops + cost <= max_ops
            and _LIST_BYTES + size + doc_size <= limits.max_bytes
            and _LIST_NODES + nodes + doc_nodes <= limits.max_nodes
        )
        if batch and not fits:
            batches.append(batch)
            batch, ops, size, nodes = [], 0, 0, 0
        batch.append(doc)
        ops, size, nodes = ops + cost, size + doc_size, nodes + doc_nodes
    if batch:
        batches.append(batch)
    return batches


class _Patience:
    """Waits out 429s, each for its Retry-After, until ``max_wait`` seconds in all are spent."""

    def __init__(self, max_wait: float, sleep: Callable[[float], None]):
        self.max_wait = max_wait
        self.sleep = sleep
        self.waited = 0.0

    def call(self, attempt: Callable[[], bytes], what: str) -> bytes:
        while True:
            try:
                return attempt()
            except ControllerError as exc:
                if exc.status != 429:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else _DEFAULT_RETRY
                if self.waited + wait > self.max_wait:
                    raise ControllerError(
                        f"{what}: rate limited by the controller, after waiting "
                        f"{self.waited:.0f} s in all (at most {self.max_wait:.0f} s); nothing was "
                        "written: try again later",
                        where=exc.where,
                        status=429,
                        retry_after=exc.retry_after,
                    ) from None
                self.sleep(wait)
                self.waited += wait


def rotate(
    sealed: Sequence[SealedSecretDoc],
    send: Send,
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = ROTATE_MAX_WAIT,
) -> list[dict[str, Any]]:
    """Every SealedSecret re-sealed by the controller (``/v1/rotate``), in the order given.

    Sent in the batches of :func:`plan_batches`, one after the other, each retried after a 429
    once its Retry-After has passed; past ``max_wait`` seconds of waiting in all, or on any other
    error, :class:`ControllerError` and nothing is returned. For more than one SealedSecret the
    controller's keys are listed first (``/v1/keys``), to plan the RSA work as it will.
    """
    patience = _Patience(max_wait, sleep)
    keys: list[ListedKey] = []
    if len(sealed) > 1:
        get = functools.partial(send, "GET", "/v1/keys", limit=Limit.ANSWER)
        keys = listed_keys(patience.call(get, "GET /v1/keys"))
    out: list[dict[str, Any]] = []
    for batch in plan_batches(sealed, keys):
        body = {"apiVersion": "v1", "kind": "List", "items": [s.doc for s in batch]}
        post = functools.partial(send, "POST", "/v1/rotate", body, limit=Limit.MANIFEST)
        answer = patience.call(post, "POST /v1/rotate")
        out += load_documents(answer, source="controller")
    return out
