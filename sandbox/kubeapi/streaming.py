"""Writing one watch response: backlog first, then live events, bookmarks, and the end.

The stream is newline-delimited JSON (``{"type": ..., "object": ...}``) with ``Content-Type:
application/json``, as https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
shows. It ends when ``timeoutSeconds`` pass (after a last BOOKMARK if bookmarks were asked for),
when the watcher is cut (fault injection, shutdown, a client too slow), after ``budget`` events
(a ``cut_after`` fault), or when the client goes away.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.kubeapi.cluster import view
from sandbox.kubeapi.resources import ResourceType
from sandbox.kubeapi.store import Store
from sandbox.kubeapi.tables import to_table
from sandbox.kubeapi.watch import Watcher

Obj = dict[str, Any]
# How often an idle watch wakes to notice a client that went away (aiohttp does not cancel the
# handler on disconnect) and to send a bookmark when one is due.
IDLE_CHECK = 1.0
INITIAL_EVENTS_END = {"k8s.io/initial-events-end": "true"}


async def send(response: web.StreamResponse, kind: str, obj: Obj) -> None:
    line = json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"
    await response.write(line)


@dataclass
class WatchStream:
    request: web.Request
    response: web.StreamResponse
    rt: ResourceType
    store: Store
    watcher: Watcher
    backlog: list[tuple[str, Obj]]
    timeout: float
    bookmarks: bool
    bookmark_interval: float
    initial_end: bool  # sendInitialEvents: mark the end of the backlog with a bookmark
    budget: int | None = None  # end after this many events
    table: bool = False  # the client asked for server-side printing (kubectl get -w)
    _tabled: int = 0

    def _render(self, obj: Obj) -> Obj:
        seen = view(self.rt, obj)
        if not self.table:
            return seen
        self._tabled += 1
        return to_table(self.rt, [seen], single=True, columns=self._tabled == 1)

    def _bookmark(self, annotations: dict[str, str] | None = None) -> Obj:
        # Sent only when every published event has been written, so the current version is
        # a safe point to resume from.
        meta: Obj = {"resourceVersion": str(self.store.resource_version)}
        if annotations:
            meta["annotations"] = annotations
        return {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": meta}

    def _closed(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    def _spent(self, sent: int) -> bool:
        return self.budget is not None and sent >= self.budget

    async def run(self) -> None:
        sent = 0
        for kind, obj in self.backlog:
            if self._spent(sent):
                return
            await send(self.response, kind, self._render(obj))
            sent += 1
        if self.initial_end:
            await send(self.response, "BOOKMARK", self._bookmark(INITIAL_EVENTS_END))
        now = time.monotonic()
        deadline, next_bookmark = now + self.timeout, now + self.bookmark_interval
        while not self._spent(sent):
            left = deadline - time.monotonic()
            if left <= 0:
                if self.bookmarks and self.watcher.queue.empty():
                    await send(self.response, "BOOKMARK", self._bookmark())
                return
            try:
                item = await asyncio.wait_for(self.watcher.queue.get(), min(left, IDLE_CHECK))
            except TimeoutError:
                if self._closed():
                    return
                now = time.monotonic()
                if self.bookmarks and next_bookmark <= now < deadline:
                    await send(self.response, "BOOKMARK", self._bookmark())
                    next_bookmark = now + self.bookmark_interval
                continue
            if item is None:
                return
            translated = self.watcher.translate(item)
            if translated is not None:
                await send(self.response, translated[0], self._render(translated[1]))
                sent += 1
