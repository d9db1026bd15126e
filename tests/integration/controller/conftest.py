"""The real controller process against the API emulator over HTTP.

``cluster`` is an emulator with the project's CRDs (``deploy/crds``) and namespaces applied.
``start_controller`` runs ``python -m controller`` as a separate process with ``KUBECONFIG``
pointing at it, waits for ``/healthz``, and stops it at teardown. Every test registers the
plaintexts it uses in ``plaintexts``; at teardown the controller's logs, every Event and every
status in the emulator are searched for them (the leak test); both the values and those
haystacks also go to the whole-run ledger (``tests/leaks.py``), which cross-searches every test's
values in every test's outputs when the session ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from sandbox.kubeapi.harness import RunningKubeApi
from sealer.kube import EVENTS, SECRETS, KubeConflict, KubeNotFound, ResourceRef
from sealer.kubeclient import KubeApi, connect
from tests.leaks import Ledger

ROOT = Path(__file__).parents[3]
CRDS = ROOT / "deploy" / "crds"
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False)
CRD_REF = ResourceRef("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
SEALED = ResourceRef("sealops.dev", "v1alpha1", "sealedsecrets")


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except KubeNotFound:
            last = None
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    kubeapi: RunningKubeApi
    kubeconfig: Path
    kube: KubeApi
    core: Any  # kubernetes.client.CoreV1Api, for what the controller itself never does (delete)

    def namespace(self, name: str) -> None:
        with contextlib.suppress(KubeConflict):  # already there
            self.kube.create(
                NAMESPACES,
                None,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )

    def apply_sealed(self, doc: dict[str, Any]) -> dict[str, Any]:
        ns = doc["metadata"].get("namespace", "default")
        self.namespace(ns)
        return self.kube.create(SEALED, ns, doc)

    def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.kube.get(SECRETS, namespace, name)
        except KubeNotFound:
            return None

    def ready(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Ready condition of a SealedSecret once the controller has set it."""
        body = self.kube.get(SEALED, namespace, name)
        for condition in (body.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready":
                return dict(condition)
        return None

    def wait_ready(
        self, namespace: str, name: str, *, status: str = "True", timeout: float = 20.0
    ) -> dict[str, Any]:
        return dict(
            wait_for(
                lambda: (c := self.ready(namespace, name)) and c["status"] == status and c,
                timeout=timeout,
                what=f"SealedSecret {namespace}/{name} Ready={status}",
            )
        )


@pytest.fixture
def cluster(kubeapi: RunningKubeApi, tmp_path: Path) -> Cluster:
    kubeconfig = kubeapi.write_kubeconfig(tmp_path / "kubeconfig")
    kube = connect(kubeconfig=str(kubeconfig))
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                kube.create(CRD_REF, None, doc)
    k8s: Any = kubernetes
    core = k8s.client.CoreV1Api(k8s.config.new_client_from_config(config_file=str(kubeconfig)))
    result = Cluster(kubeapi, kubeconfig, kube, core)
    for ns in ("sealops-system", "prod"):
        result.namespace(ns)
    return result


@dataclass
class Controller:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    args: list[str] = field(default_factory=list)

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

    def metric(self, name: str) -> float:
        total = 0.0
        for line in self.get("/metrics").decode().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head == name or head.startswith(name + "{"):
                    total += float(value)
        return total

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


StartController = Callable[..., Controller]


@pytest.fixture
def start_controller(cluster: Cluster, tmp_path: Path) -> Iterator[StartController]:
    started: list[Controller] = []

    def start(*extra: str, wait: bool = True, env: dict[str, str] | None = None) -> Controller:
        port = free_port()
        log_path = tmp_path / f"controller-{len(started)}.log"
        args = [
            sys.executable, "-m", "controller",
            "--namespace", "sealops-system",
            "--http-port", str(port),
            "--http-host", "127.0.0.1",
            "--key-size", "2048",
            "--key-sync-interval", "1s",
            "--log-level", "debug",
            *extra,
        ]  # fmt: skip
        environment = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), **(env or {})}
        handle = log_path.open("wb")
        process = subprocess.Popen(
            args, stdout=handle, stderr=subprocess.STDOUT, env=environment, cwd=ROOT
        )
        controller = Controller(process, f"http://127.0.0.1:{port}", log_path, args)
        started.append(controller)
        if wait:

            def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"controller exited: {controller.logs()[-3000:]}")
                try:
                    return controller.get("/healthz") == b"ok\n"
                except OSError:
                    return False

            wait_for(healthy, timeout=60, what="controller /healthz")
        return controller

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def plaintexts(
    request: pytest.FixtureRequest,
    cluster: Cluster,
    start_controller: StartController,
    leak_ledger: Ledger,
) -> Iterator[list[bytes]]:
    """Register every plaintext a test uses; teardown proves none leaked."""
    values: list[bytes] = []
    yield values
    leak_scan(
        cluster,
        values,
        extra_logs=[
            p.read_text(errors="replace")
            for p in cluster.kubeconfig.parent.glob("controller-*.log")
        ],
        ledger=leak_ledger,
        test=request.node.nodeid,
    )


def leak_scan(
    cluster: Cluster,
    values: list[bytes],
    *,
    extra_logs: list[str],
    ledger: Ledger | None = None,
    test: str = "",
) -> None:
    """No plaintext in logs, Events, or any SealedSecret/VaultSecret status.

    With a ``ledger``, the values and haystacks are also kept for the whole-run scan.
    """
    haystacks: list[tuple[str, str]] = [(f"log {i}", log) for i, log in enumerate(extra_logs)]
    for event in cluster.kube.list(EVENTS):
        haystacks.append(("Event", json.dumps(event)))
    for plural in ("sealedsecrets", "vaultsecrets"):
        for body in cluster.kube.list(ResourceRef("sealops.dev", "v1alpha1", plural)):
            haystacks.append((f"{plural} status", json.dumps(body.get("status") or {})))
    if ledger is not None:
        ledger.plaintexts(test, values)
        for kind in ("log", "Event", "status"):
            texts = [hay for where, hay in haystacks if kind in where]
            if texts:
                ledger.haystack(f"{test}: {kind}s", "\n".join(texts))
    for value in values:
        if len(value) < 6:
            continue  # too short to search for without false hits
        text = value.decode("utf-8", "replace")
        for where, hay in haystacks:
            assert text not in hay, f"a plaintext leaked into {where}"
