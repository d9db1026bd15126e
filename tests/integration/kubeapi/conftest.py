"""Fixtures for the emulator's own tests: the server, a kubeconfig for it, clients over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from sandbox.kubeapi.harness import RunningKubeApi


@pytest.fixture
def kubeconfig(kubeapi: RunningKubeApi, tmp_path: Path) -> Path:
    return kubeapi.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[Any]:
    """A ``kubernetes`` ApiClient configured from the kubeconfig, talking HTTP to the emulator."""
    k8s: Any = kubernetes  # the client's own annotations are partial; use it untyped
    client = k8s.config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def core(api_client: Any) -> Any:
    return kubernetes.client.CoreV1Api(api_client)


@pytest.fixture
def custom(api_client: Any) -> Any:
    return kubernetes.client.CustomObjectsApi(api_client)
