"""Watch events: a bounded history window per resource and the live subscribers.

Like the real API server's watch cache
(https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
each resource keeps only its last ``window`` events; a watch from a resourceVersion older than the
window fails with 410 Gone and the client must list again. Publishing costs O(watchers of that
resource); nothing scans past requests, and memory is bounded by the window and by
:data:`MAX_QUEUED` undelivered events per watcher (a watcher that falls further behind is cut, as
the real server drops slow watchers).

All methods run on the server's event loop thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.kubeapi.errors import gone

Obj = dict[str, Any]
MAX_QUEUED = 10_000


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    obj: Obj
    prev: Obj | None  # the object before a MODIFIED, to send ADDED/DELETED to selector watchers
    rv: int


@dataclass
class _Window:
    events: deque[Event]
    start_rv: int  # every event with rv > start_rv is still in ``events``


@dataclass(eq=False)
class Watcher:
    """One open watch: events for one resource, optionally one namespace, filtered."""

    namespace: str | None
    matches: Callable[[Obj], bool]
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    cut: bool = False

    def translate(self, event: Event) -> tuple[str, Obj] | None:
        """The event this watcher sees, as the watch cache filters: a MODIFIED that moves an
        object into the selector is ADDED, out of it is DELETED."""
        ns = event.obj.get("metadata", {}).get("namespace", "")
        if self.namespace is not None and ns != self.namespace:
            return None
        now = self.matches(event.obj)
        if event.type != "MODIFIED" or event.prev is None:
            return (event.type, event.obj) if now else None
        before = self.matches(event.prev)
        if now and before:
            return ("MODIFIED", event.obj)
        if now:
            return ("ADDED", event.obj)
        if before:
            return ("DELETED", event.obj)
        return None

    def offer(self, event: Event | None) -> None:
        if self.cut:
            return
        if self.queue.qsize() >= MAX_QUEUED:
            self.close()
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        """End the stream: the handler sees ``None`` and returns."""
        self.cut = True
        self.queue.put_nowait(None)


class WatchHub:
    def __init__(self, window: int) -> None:
        self.window = window
        self._windows: dict[tuple[str, str], _Window] = {}
        self._watchers: dict[tuple[str, str], set[Watcher]] = {}

    def open_window(self, key: tuple[str, str], rv: int) -> None:
        """Start history for a resource that appears now (a new CRD): nothing older is known."""
        self._windows[key] = _Window(deque(maxlen=self.window), rv)

    def drop(self, key: tuple[str, str]) -> None:
        self._windows.pop(key, None)
        for watcher in self._watchers.pop(key, set()):
            watcher.close()

    def publish(self, key: tuple[str, str], event: Event) -> None:
        win = self._windows.get(key)
        if win is None:
            win = self._windows[key] = _Window(deque(maxlen=self.window), 0)
        if len(win.events) == win.events.maxlen:
            win.start_rv = win.events[0].rv
        win.events.append(event)
        for watcher in self._watchers.get(key, ()):
            watcher.offer(event)

    def since(self, key: tuple[str, str], rv: int) -> Iterator[Event]:
        """Events after ``rv``; 410 Gone if some of them have left the window."""
        win = self._windows.get(key)
        if win is None:
            return iter(())
        if rv < win.start_rv:
            raise gone(f"too old resource version: {rv} ({win.start_rv + 1})")
        return (e for e in list(win.events) if e.rv > rv)

    def subscribe(self, key: tuple[str, str], watcher: Watcher) -> None:
        self._watchers.setdefault(key, set()).add(watcher)

    def unsubscribe(self, key: tuple[str, str], watcher: Watcher) -> None:
        self._watchers.get(key, set()).discard(watcher)

    def cut(self, key: tuple[str, str]) -> int:
        """End the open watches of one resource now; returns how many."""
        open_ones = [w for w in self._watchers.get(key, ()) if not w.cut]
        for watcher in open_ones:
            watcher.close()
        return len(open_ones)

    def watchers(self, key: tuple[str, str] | None = None) -> list[Watcher]:
        if key is not None:
            return list(self._watchers.get(key, ()))
        return [w for ws in self._watchers.values() for w in ws]
