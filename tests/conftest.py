"""Shared fixtures. Integration fixtures (OpenBao, the API emulator) live in tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# The Kubernetes API emulator (`kubeapi` fixture) for every integration test, and the
# whole-run leak scan (`leak_ledger` fixture, checked when the session ends).
pytest_plugins = ["sandbox.kubeapi.pytest_plugin", "tests.leaks"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
