"""Counts the HTTP requests a resolver sends to Vault, by kind, for benchmarks and metrics.

The hvac backend counts each request once, just before sending it, whatever its outcome (a
refused connection counts: it was an attempt). Kinds: ``read`` (a secret), ``login``,
``mount`` (``sys/internal/ui/mounts``), ``renew`` (``renew-self``), ``lookup`` (``lookup-self``,
to learn a fixed token's TTL or to tell a dead token from a policy denial), ``revoke``
(``revoke-self``: a connection's status check gives back the token its login made). The
controller can share one counter between its resolvers and export it; benchmarks read
:meth:`snapshot`.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Literal

__all__ = ["RequestCounter", "RequestKind"]

RequestKind = Literal["read", "login", "mount", "renew", "lookup", "revoke"]
_KINDS = ("read", "login", "mount", "renew", "lookup", "revoke")


class RequestCounter:
    """A thread-safe tally of requests per kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, kind: RequestKind) -> None:
        with self._lock:
            self._counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        """Counts so far, every kind present (zero if none)."""
        with self._lock:
            return {kind: self._counts[kind] for kind in _KINDS}

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
