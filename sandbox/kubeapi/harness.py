"""Run the emulator on a background thread with its own event loop (what the pytest fixture uses).

Tests keep their own thread free for blocking clients (the ``kubernetes`` package, subprocesses
running kopf or kubectl) while the server answers on loopback. The server binds port 0, so the
kernel picks a free port and two parallel tests never race for one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.kubeapi import kubeconfig
from sandbox.kubeapi.cluster import Cluster
from sandbox.kubeapi.faults import Fault, Faults
from sandbox.kubeapi.server import KubeApi


async def serve(
    api: KubeApi, host: str, port: int, *, access_log: logging.Logger | None = None
) -> tuple[web.AppRunner, int]:
    """Start ``api`` listening; returns the runner (to clean up) and the port it got."""
    runner = web.AppRunner(api.app(), access_log=access_log, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    return runner, int(sockets[0].getsockname()[1]) if sockets else port


class RunningKubeApi:
    """A live emulator. ``url``/``port`` to reach it, ``faults`` to inject failures,
    ``write_kubeconfig`` for tools that read ``KUBECONFIG``. ``start()``/``stop()``, or use it
    as a context manager."""

    def __init__(
        self, *, host: str = "127.0.0.1", window: int = 1000, bookmark_interval: float = 60.0
    ) -> None:
        self.host = host
        self.cluster = Cluster(window=window)
        self.api = KubeApi(self.cluster, bookmark_interval=bookmark_interval)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kubeapi", daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def start(self) -> RunningKubeApi:
        self._thread.start()
        self._runner, self.port = self._call(serve(self.api, self.host, 0)).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup()).result(timeout=10)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> RunningKubeApi:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _call(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> Faults:
        return self.cluster.faults

    def fault(self, verb: str, resource: str, **options: Any) -> Fault:
        """Shorthand for ``faults.add``: the next matching request(s) fail, wait or get cut."""
        return self.cluster.faults.add(verb, resource, **options)

    def cut_watches(self, resource: str | None = None) -> int:
        """End the open watch streams now (of one plural, or all); returns how many."""

        async def cut() -> int:
            return self.cluster.cut_watches(resource)

        result: int = self._call(cut()).result(timeout=10)
        return result

    def open_watches(self) -> int:
        """How many watch streams are open now (counted on the server's loop)."""

        async def count() -> int:
            return len(self.cluster.store.hub.watchers())

        result: int = self._call(count()).result(timeout=10)
        return result

    @property
    def signing_public_key_pem(self) -> str:
        return self.cluster.tokens.public_key_pem

    def write_kubeconfig(self, path: Path, *, namespace: str = "default") -> Path:
        return kubeconfig.write(path, self.url, namespace=namespace)
