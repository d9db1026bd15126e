"""Run the emulator on a background thread with its own event loop (what the pytest fixture uses),
or as a process of its own (what ``make demo`` and the benchmarks use).

:class:`RunningKubeApi`: tests keep their own thread free for blocking clients (the
``kubernetes`` package, subprocesses running kopf or kubectl) while the server answers on
loopback. The server binds port 0, so the kernel picks a free port and two parallel tests never
race for one. :class:`KubeApiProcess` runs ``python -m sandbox.kubeapi`` instead, so that its CPU
time is its own and the caller's load does not slow it.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import processes
from sandbox.kubeapi import kubeconfig
from sandbox.kubeapi.cluster import Cluster
from sandbox.kubeapi.faults import Fault, Faults
from sandbox.kubeapi.server import KubeApi
from sandbox.kubeapi.writes import Writes


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
    """A live emulator. ``url``/``port`` to reach it, ``faults`` to inject failures, ``writes`` to see who wrote,
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

    @property
    def writes(self) -> Writes:
        """Every write request so far, by User-Agent and field manager."""
        return self.cluster.writes

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


class KubeApiProcess:
    """``python -m sandbox.kubeapi`` as a child process, started once it listens.

    ``port`` 0 lets the kernel pick (the emulator's one stdout line says which). With
    ``kubeconfig``, the emulator writes one there pointing at itself; its stderr (the access log
    with ``--access-log``) goes to ``log_path`` when given.
    """

    def __init__(
        self,
        *extra: str,
        port: int = 0,
        kubeconfig: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        root = Path(__file__).resolve().parents[2]
        args = [sys.executable, "-m", "sandbox.kubeapi", "--port", str(port), *extra]
        if kubeconfig is not None:
            args += ["--kubeconfig", str(kubeconfig)]
        self.kubeconfig = kubeconfig
        log = log_path.open("wb") if log_path is not None else None
        try:
            self.process = subprocess.Popen(
                args, cwd=root, stdout=subprocess.PIPE, stderr=log, text=True
            )
        finally:
            if log is not None:
                log.close()
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()  # "kubeapi listening on http://H:N"
        if not line.startswith("kubeapi listening on http://"):
            processes.stop(self.process, grace=10.0)
            raise RuntimeError(f"the emulator exited before listening ({line!r})")
        self.url = line.rpartition(" ")[2]
        host, _, number = self.url.removeprefix("http://").rpartition(":")
        self.host, self.port = host, int(number)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        processes.stop(self.process, grace=10.0)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> KubeApiProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
