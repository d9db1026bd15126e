"""Adversarial tests: a hostile tenant against the real controller, the emulator and OpenBao.

Each test states the attack it reproduces (a class of attack, with its variants) and asserts
what a tenant must not reach: another namespace, the controller's own namespace, a sealing key,
a secret value in any message, or a share of the controller's time past its budget. The
fixtures are those of the controller and VaultSecret suites (``cluster``, ``start_controller``,
``plaintexts`` with its leak scan, ``bao`` and ``env``), so every value planted here is also
searched for in every output of the run (``tests/leaks.py``).
"""

from __future__ import annotations

from tests.integration.controller.conftest import (
    Cluster,
    Controller,
    StartController,
    cluster,
    plaintexts,
    start_controller,
    wait_for,
)
from tests.integration.vaultsecrets.conftest import (
    Bao,
    Env,
    bao,
    bao_server,
    env,
    fresh_bao,
    fresh_env,
)

__all__ = [
    "Bao",
    "Cluster",
    "Controller",
    "Env",
    "StartController",
    "bao",
    "bao_server",
    "cluster",
    "env",
    "fresh_bao",
    "fresh_env",
    "plaintexts",
    "start_controller",
    "wait_for",
]
