"""One lock per object key (``namespace/name``), so two paths never reconcile one object at once.

kopf serialises its own handlers per object, but drift checks, the resync loop and the refresh
scheduler reach the same reconcilers from other threads. Locks are made on first use and
dropped when the object is gone.
"""

from __future__ import annotations

import threading

__all__ = ["KeyedLocks"]


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def forget(self, key: str) -> None:
        with self._guard:
            self._locks.pop(key, None)
