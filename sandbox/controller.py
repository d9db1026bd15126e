"""The one way the sandbox starts the real controller: ``python -m controller``, its own process.

:func:`start_controller` gives it ``KUBECONFIG`` (the emulator's, or any cluster's), makes it
listen on 127.0.0.1 (a free port unless one is given), sends its stdout and stderr to
``log_path``, and waits until ``/healthz`` answers ``ok`` (failing with the log's tail if the
process exits first). ``make demo``, the integration tests and the benchmarks all start it here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from sandbox import processes
from sandbox.openbao import free_port

__all__ = ["ROOT", "Controller", "ControllerExited", "metric_sum", "start_controller"]

ROOT = Path(__file__).resolve().parents[1]


class ControllerExited(RuntimeError):
    """The controller process ended while we waited for it."""


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples in a ``/metrics`` text whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and wanted <= set(sample.labels.items())
    )


@dataclass
class Controller:
    """A running controller process: its HTTP endpoints at ``url``, its log at ``log_path``."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return bytes(response.read())

    def post(self, path: str, body: Any) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())

    def metric(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels``, scraped now."""
        if "{" in name:
            raise ValueError(f"{name!r}: give the labels as keywords, metric(name, label=value)")
        return metric_sum(self.get("/metrics").decode(), name, **labels)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthy(self) -> bool:
        """``/healthz`` answers ``ok``; raises :class:`ControllerExited` once the process ended."""
        if self.process.poll() is not None:
            raise ControllerExited(
                f"controller exited ({self.process.returncode}): {self.logs()[-3000:]}"
            )
        try:
            return self.get("/healthz") == b"ok\n"
        except OSError:
            return False

    def wait_healthy(self, *, timeout: float = 60.0) -> Controller:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the controller did not become healthy within {timeout:g}s")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """SIGTERM (a clean shutdown: the leader gives up its lease), then SIGKILL after 15 s."""
        processes.stop(self.process, grace=15.0)

    def kill(self) -> None:
        """SIGKILL: the process dies mid-work, as in a node failure."""
        processes.kill(self.process)


def start_controller(
    kubeconfig: Path,
    *flags: str,
    log_path: Path,
    port: int | None = None,
    listen: bool = True,
    env: Mapping[str, str] | None = None,
    wait: bool = True,
    timeout: float = 60.0,
) -> Controller:
    """Run ``python -m controller *flags`` against ``kubeconfig``.

    ``--http-host 127.0.0.1 --http-port PORT`` come before ``flags`` unless ``listen`` is false
    (the caller sets them another way, e.g. ``SEALOPS_HTTP_PORT`` in ``env``; ``port`` must then
    say which). ``env`` is added to this process's environment. With ``wait``, returns once
    ``/healthz`` answers, and stops the process if it never does.
    """
    port = port or free_port()
    listening = ["--http-host", "127.0.0.1", "--http-port", str(port)] if listen else []
    args = [sys.executable, "-m", "controller", *listening, *flags]
    environment = {**os.environ, "KUBECONFIG": str(kubeconfig), **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=ROOT
        )
    controller = Controller(process, f"http://127.0.0.1:{port}", log_path, args)
    if wait:
        try:
            controller.wait_healthy(timeout=timeout)
        except BaseException:
            controller.stop()
            raise
    return controller
