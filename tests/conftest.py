"""Shared fixtures. Integration fixtures (OpenBao, the API emulator) live in tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# The Kubernetes API emulator (`kubeapi` fixture) for every integration test.
pytest_plugins = ["tests.kubeapi.pytest_plugin"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
