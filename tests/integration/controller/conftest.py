"""The real controller process against the API emulator over HTTP.

``cluster`` is an emulator with the project's CRDs (``deploy/crds``) and namespaces applied
(:class:`tests.harness.Cluster`). ``start_controller`` runs ``python -m controller`` as a
separate process with ``KUBECONFIG`` pointing at it (:func:`sandbox.controller.start_controller`),
waits for ``/healthz``, and stops it at teardown. Every test registers the
plaintexts it uses in ``plaintexts``; at teardown the controller's logs, every Event and every
status in the emulator are searched for them (the leak test); both the values and those
haystacks also go to the whole-run ledger (``tests/leaks.py``), which cross-searches every test's
values in every test's outputs when the session ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.controller import Controller
from sandbox.controller import start_controller as launch
from sandbox.kubeapi.harness import RunningKubeApi
from sandbox.openbao import free_port
from sealer.api import EVENTS, SEALED_SECRETS, VAULT_SECRETS
from tests.harness import SEALED, Cluster, wait_for
from tests.leaks import Ledger

__all__ = [
    "SEALED",
    "Cluster",
    "Controller",
    "StartController",
    "cluster",
    "free_port",
    "leak_scan",
    "plaintexts",
    "start_controller",
    "wait_for",
]

#: The flags every test's controller gets before its own.
FLAGS = (
    "--namespace", "sealops-system",
    "--key-size", "2048",
    "--key-sync-interval", "1s",
    "--log-level", "debug",
)  # fmt: skip


@pytest.fixture
def cluster(kubeapi: RunningKubeApi, tmp_path: Path) -> Cluster:
    return Cluster.start(kubeapi, tmp_path / "kubeconfig")


StartController = Callable[..., Controller]


@pytest.fixture
def start_controller(cluster: Cluster, tmp_path: Path) -> Iterator[StartController]:
    started: list[Controller] = []

    def start(*extra: str, wait: bool = True, env: dict[str, str] | None = None) -> Controller:
        log_path = tmp_path / f"controller-{len(started)}.log"
        controller = launch(
            cluster.kubeconfig, *FLAGS, *extra, log_path=log_path, env=env, wait=False
        )
        started.append(controller)
        if wait:
            controller.wait_healthy(timeout=60)
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
    for ref in (SEALED_SECRETS, VAULT_SECRETS):
        for body in cluster.kube.list(ref):
            haystacks.append((f"{ref.plural} status", json.dumps(body.get("status") or {})))
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
