"""Shared fixtures. Integration fixtures (OpenBao, the API emulator) live in tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
