"""One lock per object key (``namespace/name``), so two paths never reconcile one object at once.

kopf serialises its own handlers per object, but drift checks, the resync loop and the queue
reach the same reconcilers from other threads. Locks are made on first use and dropped when the
object is gone (:meth:`controller.reconcile.Reconciler.forget`: kopf's DELETED event, a queued
run or a drift check that finds it missing, the resync that no longer lists it). A lock dropped
while held stays with its holder; the next caller gets a new one.
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

    def keys(self) -> list[str]:
        """The keys that have a lock now."""
        with self._guard:
            return list(self._locks)
