"""The one queue of next runs: every retry (both kinds) and every VaultSecret refresh.

kopf's timers would put a finalizer on every VaultSecret, and kopf's ``TemporaryError`` retries
would be a second retry path; this keeps the schedule in memory instead. Each reconcile
(:class:`controller.reconcile.Reconciler`) calls :meth:`Scheduler.schedule` with its next run (a
refresh, or a retry with backoff) or :meth:`Scheduler.cancel`; the loop runs due work in its own
executor, never on the event loop. A key scheduled again replaces its earlier due time, so there
is at most one pending run per object.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        run: Callable[[str], None],
        *,
        workers: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._run = run
        self._clock = clock
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._running: set[str] = set()
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh")
        self._pool_closed = False

    def schedule(self, key: str, delay: float) -> None:
        """Run ``key`` after ``delay`` seconds (replacing any earlier schedule for it)."""
        due = self._clock() + max(0.0, delay)
        with self._lock:
            self._due[key] = due
            heapq.heappush(self._heap, (due, next(self._seq), key))
        self._poke()

    def cancel(self, key: str) -> None:
        with self._lock:
            self._due.pop(key, None)

    def due(self, key: str) -> float | None:
        """Seconds until ``key``'s run (None: none pending)."""
        with self._lock:
            due = self._due.get(key)
        return None if due is None else due - self._clock()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    def _pop_due(self) -> tuple[list[str], float | None]:
        now = self._clock()
        ready: list[str] = []
        with self._lock:
            while self._heap:
                due, _, key = self._heap[0]
                if self._due.get(key) != due:
                    heapq.heappop(self._heap)  # replaced or cancelled
                    continue
                if due > now:
                    return ready, due - now
                heapq.heappop(self._heap)
                if key in self._running:  # still busy: try again shortly
                    self._due[key] = now + 1.0
                    heapq.heappush(self._heap, (now + 1.0, next(self._seq), key))
                    continue
                del self._due[key]
                self._running.add(key)
                ready.append(key)
        return ready, None

    def _execute(self, key: str) -> None:
        try:
            self._run(key)
        except Exception:
            log.exception("refresh of %s failed", key)
        finally:
            with self._lock:
                self._running.discard(key)

    async def serve(self) -> None:
        """Run forever in the operator's loop (cancel the task to stop; it may serve again)."""
        if self._pool_closed:  # served before (kopf started again): entries kept, pool anew
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="refresh")
            self._pool_closed = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while True:
                ready, wait = self._pop_due()
                for key in ready:
                    self._loop.run_in_executor(self._pool, self._execute, key)
                self._wake.clear()
                if ready:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=min(wait or 60.0, 60.0))
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool_closed = True
