"""The ``kubeapi`` pytest fixture: a fresh emulator on a free loopback port for each test.

Use it from any test directory by importing it into that directory's ``conftest.py``
(``from sandbox.kubeapi.pytest_plugin import kubeapi  # noqa: F401``), or register it for the
whole suite with ``pytest_plugins = ["sandbox.kubeapi.pytest_plugin"]`` in the root
``tests/conftest.py``. A test may tune the server with
``@pytest.mark.parametrize("kubeapi", [{"window": 5}], indirect=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.kubeapi.harness import RunningKubeApi


@pytest.fixture
def kubeapi(request: pytest.FixtureRequest) -> Iterator[RunningKubeApi]:
    """A running emulator: ``.url``, ``.port``, ``.write_kubeconfig(path)``, ``.faults``,
    ``.fault(verb, resource, ...)``, ``.cut_watches()``, ``.signing_public_key_pem``."""
    options = getattr(request, "param", None) or {}
    with RunningKubeApi(**options) as server:
        yield server
