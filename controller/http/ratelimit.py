"""Rate limits of the endpoints: a token bucket per client, counted in private-key operations.

:class:`ClientLimiter` keeps one :class:`TokenBucket` per client, for a bounded number of
clients, and says who a client is when a proxy forwards for others (:func:`client_of`). The
server (:mod:`controller.http.server`) charges a request its planned RSA work before doing it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web

__all__ = ["MAX_CLIENTS", "PROXY_SHARE", "ClientLimiter", "TokenBucket", "client_of"]

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
